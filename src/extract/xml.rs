//! A small event walker over quick-xml shared by the DOCX and ODF readers: local names only,
//! entity and character references resolved, the time budget checked as it goes.

use super::{Ctx, ExtractError, Kind};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

pub(crate) enum Ev<'a, 'b> {
    Start(&'a str, &'a BytesStart<'b>),
    Empty(&'a str, &'a BytesStart<'b>),
    End(&'a str),
    Text(&'a str),
}

/// Walks `data`, calling `f` per event until the end, an error, or `f` returns false.
/// Malformed XML stops the walk with `Corrupt`; what `f` saw before stays seen.
pub(crate) fn walk(
    ctx: &Ctx,
    data: &[u8],
    kind: Kind,
    mut f: impl FnMut(Ev) -> bool,
) -> Result<(), ExtractError> {
    let mut reader = Reader::from_reader(data);
    let cfg = reader.config_mut();
    cfg.check_end_names = false;
    cfg.expand_empty_elements = false;
    let mut n: u32 = 0;
    loop {
        n = n.wrapping_add(1);
        if n.is_multiple_of(4096) {
            ctx.check_time()?;
        }
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                return Err(ExtractError::corrupt(
                    kind,
                    format!("XML error near byte {}: {e}", reader.error_position()),
                ));
            }
        };
        let go_on = match &ev {
            Event::Start(e) => {
                let name = e.local_name();
                f(Ev::Start(name.as_ref(), e))
            }
            Event::Empty(e) => {
                let name = e.local_name();
                f(Ev::Empty(name.as_ref(), e))
            }
            Event::End(e) => {
                let name = e.local_name();
                f(Ev::End(name.as_ref()))
            }
            Event::Text(t) => f(Ev::Text(&t.xml10_content())),
            Event::CData(t) => f(Ev::Text(&t.xml10_content())),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match r.as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                    Err(_) => None,
                };
                match c {
                    Some(c) => {
                        let mut b = [0u8; 4];
                        f(Ev::Text(c.encode_utf8(&mut b)))
                    }
                    None => true,
                }
            }
            Event::Eof => return Ok(()),
            _ => true,
        };
        if !go_on {
            return Ok(());
        }
    }
}

/// Value of the attribute whose local name is `local`.
pub(crate) fn attr(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        if a.key.local_name().as_ref() == local {
            Some(
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| a.value.to_string()),
            )
        } else {
            None
        }
    })
}
