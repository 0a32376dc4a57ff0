//! Plain text in UTF-8 (with or without BOM), UTF-16 LE/BE (BOM or heuristic), and legacy
//! single-byte Cyrillic (windows-1251, KOI8-R, CP866) told apart by chardetng plus a check of
//! Russian letter frequencies.

use super::{Ctx, ExtractError, Input, Kind};
use encoding_rs::{Encoding, IBM866, KOI8_R, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1251};

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let (text, enc) = decode(input.bytes, None);
    let path = input.own_path();
    if enc != UTF_8 {
        ctx.note(format!("{path}: decoded as {}", enc.name()));
    }
    let mut pt = ctx.begin();
    pt.push_str(&text);
    ctx.finish(path, Kind::Text, pt);
    Ok(())
}

/// UTF-16 without BOM: one byte of each pair is nearly always 0x00 (Latin) or 0x04 (Cyrillic).
fn utf16_guess(b: &[u8]) -> Option<&'static Encoding> {
    let n = b.len().min(4096) / 2;
    if n < 4 {
        return None;
    }
    let (mut hi_even, mut hi_odd) = (0usize, 0usize);
    for i in 0..n {
        let (e, o) = (b[2 * i], b[2 * i + 1]);
        if matches!(o, 0x00 | 0x04) && e > 0x08 {
            hi_odd += 1;
        }
        if matches!(e, 0x00 | 0x04) && o > 0x08 {
            hi_even += 1;
        }
    }
    if hi_odd * 10 >= n * 9 {
        Some(UTF_16LE)
    } else if hi_even * 10 >= n * 9 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Decodes `bytes`: BOM, then a declared label (from HTML or a media type), then detection.
pub(crate) fn decode(
    bytes: &[u8],
    declared: Option<&'static Encoding>,
) -> (String, &'static Encoding) {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let (s, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return (s.into_owned(), enc);
    }
    if let Some(enc) = utf16_guess(bytes) {
        let (s, _) = enc.decode_without_bom_handling(bytes);
        return (s.into_owned(), enc);
    }
    let enc = match declared {
        // a page that says windows-1252 but is valid UTF-8 is UTF-8 in practice
        Some(d) if d != UTF_8 && std::str::from_utf8(bytes).is_ok() && !bytes.is_ascii() => UTF_8,
        Some(d) => d,
        None => detect(bytes),
    };
    let (s, _) = enc.decode_without_bom_handling(bytes);
    (s.into_owned(), enc)
}

/// Guesses the encoding of BOM-less 8-bit text.
pub(crate) fn detect(bytes: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    // invalid UTF-8 may still be UTF-8 cut inside a character at the end
    if let Err(e) = std::str::from_utf8(bytes)
        && e.error_len().is_none()
        && e.valid_up_to() > 0
    {
        return UTF_8;
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(&bytes[..bytes.len().min(256 * 1024)], true);
    let guess = det.guess(None, chardetng::Utf8Detection::Allow);
    // chardetng weighs Cyrillic encodings well, but make sure with letter frequencies
    let cyr = [WINDOWS_1251, KOI8_R, IBM866];
    if cyr.contains(&guess) || high_bytes(bytes) {
        let best = cyr
            .iter()
            .copied()
            .max_by_key(|e| russian_score(e, bytes))
            .unwrap_or(WINDOWS_1251);
        if russian_score(best, bytes) > 0 {
            return best;
        }
    }
    guess
}

fn high_bytes(b: &[u8]) -> bool {
    let s = &b[..b.len().min(64 * 1024)];
    s.iter().filter(|&&c| c >= 0x80).count() * 10 > s.len()
}

/// How Russian the text looks when decoded with `enc`: frequent lowercase letters score, rare
/// ones and capitals inside words cost.
fn russian_score(enc: &'static Encoding, bytes: &[u8]) -> i64 {
    let (s, _) = enc.decode_without_bom_handling(&bytes[..bytes.len().min(64 * 1024)]);
    let mut score = 0i64;
    let mut prev_lower = false;
    for c in s.chars() {
        score += match c {
            'о' | 'е' | 'а' | 'и' | 'н' | 'т' | 'с' | 'р' | 'в' | 'л' => 3,
            'к' | 'м' | 'д' | 'п' | 'у' | 'я' | 'ы' | 'ь' | 'г' | 'з' | 'б' | 'ч' | 'й' => {
                1
            }
            'ъ' | 'э' | 'ф' | 'щ' | 'ш' | 'ж' | 'х' | 'ц' | 'ю' | 'ё' => 0,
            'А'..='Я' if prev_lower => -4,
            '\u{2500}'..='\u{259f}' => -3, // box drawing: CP866 read wrongly
            _ => 0,
        };
        prev_lower = matches!(c, 'а'..='я');
    }
    score
}

/// Whether `bytes` is text: no NULs (unless UTF-16) and few control characters.
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let head = &bytes[..bytes.len().min(8192)];
    if Encoding::for_bom(head).is_some() || utf16_guess(head).is_some() {
        return true;
    }
    // Stray NULs (a bad export, a pasted fragment) do not make text binary: a few, or under
    // 1 %, are dropped when it is read; binary formats are full of them.
    let nuls = head.iter().filter(|&&c| c == 0).count();
    let ctrl = head
        .iter()
        .filter(|&&c| c != 0 && c < 0x20 && !matches!(c, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    (nuls <= 4 || nuls * 100 < head.len()) && (nuls + ctrl) * 100 < head.len().max(400)
}

#[cfg(test)]
mod tests {
    use crate::extract::{Kind, Limits, extract};

    #[test]
    fn text_with_a_stray_nul_is_still_text() {
        let bytes = "Техническое\0 задание: 300 комментариев в месяц".as_bytes();
        let x = extract(bytes, Some("spec.txt"), None, &Limits::default()).unwrap();
        assert_eq!(x.kind, Kind::Text);
        assert_eq!(x.text, "Техническое задание: 300 комментариев в месяц");
        // Binary data full of NULs is not.
        let bin: Vec<u8> = (0..4096u32)
            .map(|i| if i % 3 == 0 { 0 } else { i as u8 })
            .collect();
        assert!(extract(&bin, None, None, &Limits::default()).is_err());
    }
}
