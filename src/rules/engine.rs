//! Matching: fold the text once; during folding, keep the words whose first three chars start a
//! prefilter key (the stem prefixes of anchor words and quota units); verify those by stem, once
//! per distinct word; then evaluate only the rules whose anchors occurred, checking the other
//! words of phrases and windows in place.
//!
//! Everything here works on folded offsets and maps back to original byte offsets at the very
//! end, snapping to char boundaries. Work per text is linear in its length plus the number of
//! candidate words; per-rule output is capped at [`MAX_MATCHES_PER_RULE`] places.

use super::compile::{CompiledRule, Phrase, Slot, Term, TermId, TermKind, Terms};
use super::normalize::{BREAK, Normalized, SEP, ceil_boundary, floor_boundary, normalize_with};
use super::opinion::Model;
use super::quota::{QuotaKind, RawQuota, UNIT_TERMS, next_word, prev_word, quota_at};
use super::{Context, Findings, Match, Quota, RuleInfo, Severity, stem};
use std::collections::HashMap;

/// At most this many places are reported per rule and text.
pub(crate) const MAX_MATCHES_PER_RULE: usize = 100;
/// Longest phrase, in words (checked in `compile`).
const MAX_PHRASE_WORDS: u32 = 12;
/// At most this many candidate places are examined per rule and text (adversarial input).
pub(crate) const MAX_CANDIDATES_PER_RULE: usize = 2_000;
/// Evidence length cap, in chars.
pub(crate) const EVIDENCE_CHARS: usize = 300;
/// Words longer than this (bytes) are never stemmed.
const MAX_STEM_WORD: usize = 256;
/// Quotas within this many words of a match (same sentence) are attached to it.
const ATTACH_WITHIN: u32 = 12;

#[derive(Debug)]
pub(crate) struct Engine {
    terms: Vec<Term>,
    rules: Vec<CompiledRule>,
    /// First three chars of every prefilter key.
    prefix3: std::collections::HashSet<u64, FxBuild>,
    /// Bitmap over [`bit2`] of every prefilter key.
    bitmap: Vec<u64>,
    keys: HashMap<String, Vec<TermId>, FxBuild>,
    min_key: usize,
    max_key: usize,
    unit_kind: Vec<Option<QuotaKind>>,
    /// Per term, whether it is an anchor's or a unit's (what the prefilter stood for before
    /// the words of `near` windows joined it): only their hits mark a sentence for the second
    /// opinion.
    anchor_term: Vec<bool>,
    /// Per term, the first two bytes of each of its keys (see [`first2`]), for a cheap test
    /// before comparing whole keys.
    key_first: Vec<Vec<u16>>,
}

/// The first two bytes of a word (one Cyrillic letter, or two ASCII ones), 0-padded.
#[inline]
fn first2(w: &str) -> u16 {
    let b = w.as_bytes();
    match b.len() {
        0 => 0,
        1 => (b[0] as u16) << 8,
        _ => ((b[0] as u16) << 8) | b[1] as u16,
    }
}

/// A folded word that matched at least one term.
#[derive(Debug, Clone, Copy)]
struct Hit {
    s: usize,
    e: usize,
    wi: u32,
    si: u32,
    t0: u32,
    t1: u32,
    /// One of its terms is an anchor's or a unit's (see [`Engine::anchor_term`]).
    anchor: bool,
    /// The word before it in its sentence ([`prev_word`]), found once: every phrase anchored
    /// on this hit's terms asks for it.
    prev: Option<(usize, usize)>,
    /// The word after it in its sentence ([`next_word`]).
    next: Option<(usize, usize)>,
    /// The first two bytes ([`first2`]) of `prev` and of `next`, for `Phrase::gates`.
    near_first: [u16; 2],
}

/// A place in the folded text, with word and sentence indices.
#[derive(Debug, Clone, Copy)]
struct Span {
    s: usize,
    e: usize,
    w0: u32,
    w1: u32,
    si: u32,
}

fn word_gap(a: &Span, b: &Span) -> u32 {
    if a.w1 < b.w0 {
        b.w0 - a.w1
    } else {
        a.w0.saturating_sub(b.w1)
    }
}

#[derive(Debug, Clone, Copy)]
struct QSpan {
    q: RawQuota,
    sp: Span,
}

struct WordStems<'a> {
    w: &'a str,
    ru: Option<String>,
    kk: Option<String>,
    en: Option<String>,
}

impl<'a> WordStems<'a> {
    fn new(w: &'a str) -> Self {
        WordStems {
            w,
            ru: None,
            kk: None,
            en: None,
        }
    }
    fn matches(&mut self, kind: &TermKind) -> bool {
        match kind {
            TermKind::Exact(x) => self.w == x,
            TermKind::Prefix(p) => self.w.starts_with(p.as_str()),
            TermKind::Stem { ru, kk, en } => {
                if self.w.len() > MAX_STEM_WORD {
                    return false;
                }
                let w = self.w;
                if let Some(r) = ru
                    && self.ru.get_or_insert_with(|| stem::ru(w)) == r
                {
                    return true;
                }
                if let Some(k) = kk
                    && self.kk.get_or_insert_with(|| stem::kk(w)) == k
                {
                    return true;
                }
                if let Some(e) = en
                    && self.en.get_or_insert_with(|| stem::en(w)) == e
                {
                    return true;
                }
                false
            }
        }
    }
}

/// FxHash-style hasher for short string keys (no extra dependency).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&i.to_le_bytes());
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// Per-text state.
struct Scan<'a> {
    norm: &'a Normalized,
    /// The original text.
    orig: &'a str,
    hits: Vec<Hit>,
    hit_terms: Vec<TermId>,
    /// hit indices per term
    occ: Vec<Vec<u32>>,
    quotas: Vec<QSpan>,
    /// Stems of words checked in place (phrase neighbours, near windows, unless, context).
    stems: std::cell::RefCell<HashMap<Box<str>, CachedStems, FxBuild>>,
}

/// All stems of one folded word, computed once per text.
struct CachedStems {
    ru: Option<String>,
    kk: Option<String>,
    en: Option<String>,
}

impl CachedStems {
    fn new(w: &str) -> Self {
        if w.len() > MAX_STEM_WORD {
            return CachedStems {
                ru: None,
                kk: None,
                en: None,
            };
        }
        let cyr = w.chars().any(|c| ('\u{0400}'..='\u{052F}').contains(&c));
        let lat = w.bytes().any(|b| b.is_ascii_alphabetic());
        CachedStems {
            ru: cyr.then(|| stem::ru(w)),
            kk: cyr.then(|| stem::kk(w)),
            en: lat.then(|| stem::en(w)),
        }
    }

    fn matches(&self, w: &str, kind: &TermKind) -> bool {
        match kind {
            TermKind::Exact(x) => w == x,
            TermKind::Prefix(p) => w.starts_with(p.as_str()),
            TermKind::Stem { ru, kk, en } => {
                (ru.is_some() && self.ru.is_some() && *ru == self.ru)
                    || (kk.is_some() && self.kk.is_some() && *kk == self.kk)
                    || (en.is_some() && self.en.is_some() && *en == self.en)
            }
        }
    }
}

impl Scan<'_> {
    fn text(&self) -> &str {
        &self.norm.text
    }
    fn terms_of(&self, h: &Hit) -> &[TermId] {
        &self.hit_terms[h.t0 as usize..h.t1 as usize]
    }
}

/// The bytes of the first three chars of `s` (at most 8 of them) packed into a u64, with the
/// byte count: the prefilter's key. Two prefixes sharing 8 bytes collide, which only lets an
/// extra word through to verification.
#[inline]
fn pack3(s: &str) -> u64 {
    pack(s, 3)
}

/// 16-bit hash of a word's first two chars: the prefilter's first, bitmap stage.
#[inline]
fn bit2(s: &str) -> usize {
    let v = pack(s, 2);
    ((v.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 48) as usize
}

#[inline]
fn pack(s: &str, nchars: usize) -> u64 {
    let b = s.as_bytes();
    let mut n = 0usize;
    let mut chars = 0;
    while n < b.len() && chars < nchars {
        n += match b[n] {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        chars += 1;
    }
    let n = n.min(b.len()).min(8);
    let mut v = 0u64;
    for &x in &b[..n] {
        v = (v << 8) | x as u64;
    }
    v | ((n as u64) << 60)
}

fn count_seps(t: &[u8]) -> (u32, u32) {
    let mut w = 0u32;
    let mut s = 0u32;
    for &b in t {
        w += (b == SEP || b == BREAK) as u32;
        s += (b == BREAK) as u32;
    }
    (w, s)
}

/// Re-choose each `near`'s anchor, the slot whose words go into the prefilter, knowing every rule:
/// the slot whose terms the rules use least (a term many rules share, such as "аккаунт" or
/// "комментарий", is a common word of the texts too, and every occurrence of an anchor opens a
/// window to check), then the one with the longest keys. Short keys (three letters) count
/// double: they let more unrelated words through.
fn choose_near_anchors(list: &[Term], rules: &mut [CompiledRule]) {
    let mut uses = vec![0u32; list.len()];
    {
        let mut count = |slot: &[TermId]| {
            for &t in slot {
                uses[t as usize] += 1;
            }
        };
        for r in rules.iter() {
            for ph in r.phrases.iter().chain(r.unless.iter()) {
                ph.slots.iter().for_each(|s| count(s));
            }
            for n in &r.near {
                n.slots.iter().for_each(|s| count(s));
            }
        }
    }
    let cost = |slot: &[TermId]| -> u64 {
        slot.iter()
            .map(|&t| {
                let term = &list[t as usize];
                let short = term.keys.iter().any(|k| k.chars().count() <= 3);
                u64::from(uses[t as usize]) * if short { 2 } else { 1 }
            })
            .sum()
    };
    let min_key = |slot: &[TermId]| super::compile::slot_min_key_chars(list, slot);
    for r in rules.iter_mut() {
        for n in r.near.iter_mut() {
            if let Some(best) = (0..n.slots.len())
                .filter(|&i| {
                    n.slots[i]
                        .iter()
                        .all(|&t| !list[t as usize].keys.is_empty())
                })
                .min_by_key(|&i| (cost(&n.slots[i]), std::cmp::Reverse(min_key(&n.slots[i]))))
            {
                n.anchor = best;
            }
        }
    }
}

impl Engine {
    pub fn new(mut terms: Terms, mut rules: Vec<CompiledRule>) -> Engine {
        let mut unit_ids = Vec::new();
        for (kind, spec) in UNIT_TERMS {
            if let Ok(id) = terms.intern(spec) {
                unit_ids.push((id, *kind));
            }
            // Kazakh units typed without Kazakh letters: "пiкiр", "унату", "паракша"
            if let Some(plain) = stem::kk_plain_term(spec)
                && let Ok(id) = terms.intern(&plain)
            {
                unit_ids.push((id, *kind));
            }
        }
        let list = terms.list;
        let mut unit_kind = vec![None; list.len()];
        for (id, k) in unit_ids {
            unit_kind[id as usize] = Some(k);
        }
        choose_near_anchors(&list, &mut rules);
        // each phrase's neighbour gates (see `Phrase::gates`)
        let gate = |slot: &Slot| -> Option<Box<[u16]>> {
            if slot.iter().any(|&t| list[t as usize].keys.is_empty()) {
                return None;
            }
            let mut v: Vec<u16> = slot
                .iter()
                .flat_map(|&t| list[t as usize].keys.iter().map(|k| first2(k)))
                .collect();
            v.sort_unstable();
            v.dedup();
            Some(v.into_boxed_slice())
        };
        for r in rules.iter_mut() {
            let CompiledRule {
                phrases,
                unless,
                context,
                unless_context,
                ..
            } = r;
            let extra = context
                .iter_mut()
                .chain(unless_context.iter_mut())
                .flat_map(|c| c.any.iter_mut());
            for ph in phrases.iter_mut().chain(unless.iter_mut()).chain(extra) {
                let a = ph.anchor;
                ph.gates = [
                    a.checked_sub(1).and_then(|j| gate(&ph.slots[j])),
                    ph.slots.get(a + 1).and_then(gate),
                ];
            }
        }
        // Only anchor words (one slot per phrase and per near) and quota units go into the
        // prefilter; every other word is checked in place around a candidate.
        let mut in_ac = vec![false; list.len()];
        for (i, k) in unit_kind.iter().enumerate() {
            in_ac[i] = k.is_some();
        }
        for r in &rules {
            for ph in &r.phrases {
                for &t in &ph.slots[ph.anchor] {
                    in_ac[t as usize] = true;
                }
            }
            for n in &r.near {
                for &t in &n.slots[n.anchor] {
                    in_ac[t as usize] = true;
                }
            }
            let extra = r
                .context
                .iter()
                .chain(r.unless_context.iter())
                .flat_map(|c| c.any.iter());
            for ph in r.unless.iter().chain(extra) {
                for &t in &ph.slots[ph.anchor] {
                    in_ac[t as usize] = true;
                }
            }
        }
        // the words of every near slot too: a near window is then the hits around its anchor,
        // found by word index, not each word of it walked and compared (see `near_occ`)
        let anchor_term = in_ac.clone();
        for n in rules.iter().flat_map(|r| r.near.iter()) {
            for &t in n.slots.iter().flatten() {
                in_ac[t as usize] = true;
            }
        }
        let mut keys: HashMap<String, Vec<TermId>, FxBuild> = HashMap::default();
        for (i, t) in list.iter().enumerate() {
            if !in_ac[i] {
                continue;
            }
            for k in &t.keys {
                let v = keys.entry(k.clone()).or_default();
                if !v.contains(&(i as TermId)) {
                    v.push(i as TermId);
                }
            }
        }
        let min_key = keys.keys().map(|k| k.len()).min().unwrap_or(usize::MAX);
        let max_key = keys.keys().map(|k| k.len()).max().unwrap_or(0);
        let prefix3 = keys.keys().map(|k| pack3(k)).collect();
        let mut bitmap = vec![0u64; 1 << 10];
        for k in keys.keys() {
            let b = bit2(k);
            bitmap[b >> 6] |= 1 << (b & 63);
        }
        let key_first: Vec<Vec<u16>> = list
            .iter()
            .map(|t| t.keys.iter().map(|k| first2(k)).collect())
            .collect();
        Engine {
            key_first,
            terms: list,
            rules,
            prefix3,
            bitmap,
            keys,
            min_key,
            max_key,
            unit_kind,
            anchor_term,
        }
    }

    pub fn rule(&self, i: usize) -> &CompiledRule {
        &self.rules[i]
    }

    /// Whether a folded word matches any term of a slot, with stems cached per text.
    fn word_in_slot(&self, scan: &Scan, w: &str, slot: &Slot) -> bool {
        // every word a term matches starts with one of its keys (stems and prefixes are
        // prefixes of the folded word): most words of a window fail here, before any hashing
        let wf = first2(w);
        if !slot.iter().any(|&t| {
            let keys = &self.terms[t as usize].keys;
            keys.is_empty()
                || self.key_first[t as usize]
                    .iter()
                    .zip(keys)
                    .any(|(&f, k)| f == wf && w.starts_with(k.as_str()))
        }) {
            return false;
        }
        if w.len() > MAX_STEM_WORD {
            let st = CachedStems::new(w);
            return slot
                .iter()
                .any(|&t| st.matches(w, &self.terms[t as usize].kind));
        }
        let mut cache = scan.stems.borrow_mut();
        // one hash lookup when the word was seen before (the common case in windows)
        if let Some(st) = cache.get(w) {
            return slot
                .iter()
                .any(|&t| st.matches(w, &self.terms[t as usize].kind));
        }
        let st = CachedStems::new(w);
        let hit = slot
            .iter()
            .any(|&t| st.matches(w, &self.terms[t as usize].kind));
        cache.insert(w.into(), st);
        hit
    }

    /// Verify the prefilter's candidate words: (folded start, end, word index, sentence index).
    fn scan<'a>(
        &self,
        orig: &'a str,
        norm: &'a Normalized,
        cands: &[(usize, usize, u32, u32)],
    ) -> Scan<'a> {
        let text = norm.text.as_str();
        let mut hits = Vec::new();
        let mut hit_terms: Vec<TermId> = Vec::new();
        // the same word always matches the same terms: verify each distinct word once
        let mut cache: HashMap<&str, (u32, u32), FxBuild> = HashMap::default();
        for &(ws, we, wi, si) in cands {
            let word = &text[ws..we];
            let (t0, t1) = match cache.get(word) {
                Some(&r) => r,
                None => {
                    let t0 = hit_terms.len();
                    let mut st = WordStems::new(word);
                    for (i, c) in word.char_indices() {
                        let l = i + c.len_utf8();
                        if l < self.min_key {
                            continue;
                        }
                        if l > self.max_key {
                            break;
                        }
                        if let Some(ids) = self.keys.get(&word[..l]) {
                            for &id in ids {
                                if !hit_terms[t0..].contains(&id)
                                    && st.matches(&self.terms[id as usize].kind)
                                {
                                    hit_terms.push(id);
                                }
                            }
                        }
                    }
                    let r = (t0 as u32, hit_terms.len() as u32);
                    cache.insert(word, r);
                    r
                }
            };
            if t1 > t0 {
                let anchor = hit_terms[t0 as usize..t1 as usize]
                    .iter()
                    .any(|&t| self.anchor_term[t as usize]);
                let tb = text.as_bytes();
                let (prev, next) = (prev_word(tb, ws), next_word(tb, we));
                let f2 = |w: Option<(usize, usize)>| w.map_or(0, |(a, b)| first2(&text[a..b]));
                hits.push(Hit {
                    s: ws,
                    e: we,
                    wi,
                    si,
                    t0,
                    t1,
                    anchor,
                    prev,
                    next,
                    near_first: [f2(prev), f2(next)],
                });
            }
        }
        let mut occ: Vec<Vec<u32>> = vec![Vec::new(); self.terms.len()];
        for (hi, h) in hits.iter().enumerate() {
            for &tid in &hit_terms[h.t0 as usize..h.t1 as usize] {
                occ[tid as usize].push(hi as u32);
            }
        }
        let mut scan = Scan {
            norm,
            orig,
            hits,
            hit_terms,
            occ,
            quotas: Vec::new(),
            stems: Default::default(),
        };
        scan.quotas = self.quotas(&scan);
        scan
    }

    /// The quota kinds the unit words of a hit count, each once.
    fn unit_kinds(&self, scan: &Scan, h: &Hit) -> Vec<QuotaKind> {
        let mut kinds: Vec<QuotaKind> = Vec::new();
        for &tid in scan.terms_of(h) {
            if let Some(k) = self.unit_kind[tid as usize]
                && !kinds.contains(&k)
            {
                kinds.push(k);
            }
        }
        kinds
    }

    fn quotas(&self, scan: &Scan) -> Vec<QSpan> {
        let text = scan.text();
        let t = text.as_bytes();
        let mut out: Vec<QSpan> = Vec::new();
        // where the unit words start, in text order (the readers ask often, most hits are none)
        let unit_starts: Vec<usize> = scan
            .hits
            .iter()
            .filter(|h| {
                scan.terms_of(h)
                    .iter()
                    .any(|&t| self.unit_kind[t as usize].is_some())
            })
            .map(|h| h.s)
            .collect();
        if unit_starts.is_empty() {
            return out;
        }
        let is_unit = |start: usize| unit_starts.binary_search(&start).is_ok();
        // the first non-space character of the original text after a folded offset
        let hint = std::cell::Cell::new(0);
        let next_char = |folded_end: usize| {
            let o = ceil_boundary(scan.orig, scan.norm.to_orig_near(folded_end, &hint));
            scan.orig[o..].trim_start_matches(' ').chars().next()
        };
        for h in &scan.hits {
            for k in self.unit_kinds(scan, h) {
                let Some(q) = quota_at(text, h.s, h.e, k, &is_unit, &next_char) else {
                    continue;
                };
                let before = count_seps(&t[q.start.min(h.s)..h.s]).0;
                let after = count_seps(&t[h.e..q.end.max(h.e)]).0;
                let sp = Span {
                    s: q.start,
                    e: q.end,
                    w0: h.wi.saturating_sub(before),
                    w1: h.wi + after,
                    si: h.si,
                };
                if !out
                    .iter()
                    .rev()
                    .take(8)
                    .any(|o| o.q.kind == q.kind && o.q.start == q.start && o.q.end == q.end)
                {
                    out.push(QSpan { q, sp });
                }
            }
        }
        // one number counts one unit: "Post at least 30 positive comments" is 30 comments, not
        // also 30 posts; "25 оң пікір жазу" is 25 comments. Keep the unit after the number, and
        // the nearest one.
        // ... but a unit that names what is counted ("жазылушылар санын ... парақшасы – 3 000",
        // "Подписчиктер саны: +5000 (живые аккаунты)") comes first
        let counted = |q: &RawQuota| {
            !q.num_before
                && super::quota::word_end_after(t, q.start)
                    .and_then(|e| next_word(t, e))
                    .is_some_and(|n| super::quota::is_count_noun(&text[n.0..n.1]))
        };
        let rank = |q: &RawQuota| {
            let dist = if q.num_before {
                q.end - q.num_start
            } else {
                q.num_start - q.start
            };
            (!counted(q), !q.num_before, dist)
        };
        out.sort_by(|a, b| {
            a.q.num_start
                .cmp(&b.q.num_start)
                .then(rank(&a.q).cmp(&rank(&b.q)))
        });
        // followers of an account: "подписчиков официального аккаунта не менее 3 000" counts
        // the followers, though the account is nearer
        let mut i = 0;
        while i < out.len() {
            let n = out[i].q.num_start;
            let j = i + out[i..].iter().take_while(|o| o.q.num_start == n).count();
            if out[i].q.kind == QuotaKind::Accounts
                && !out[i].q.num_before
                && let Some(f) = (i + 1..j)
                    .find(|&k| out[k].q.kind == QuotaKind::Followers && !out[k].q.num_before)
            {
                out.swap(i, f);
            }
            i = j;
        }
        out.dedup_by(|later, first| later.q.num_start == first.q.num_start);
        self.table_quotas(scan, &mut out);
        // a count with no period of its own takes the month or quarter the document is headed
        // with ("Акт ... за март 2023 г.: размещено 45 отзывов"); accounts are kept, not made
        if out
            .iter()
            .any(|q| q.q.per.is_none() && q.q.kind != QuotaKind::Accounts)
        {
            let heads = super::quota::heading_periods(text);
            for q in out.iter_mut() {
                if q.q.per.is_none()
                    && q.q.kind != QuotaKind::Accounts
                    && let Some(&(_, p)) = heads.iter().rev().find(|(o, _)| *o < q.q.start)
                {
                    q.q.per = Some(p);
                }
            }
        }
        out.sort_by_key(|q| (q.q.start, q.q.end, q.q.kind));
        out
    }

    /// Quotas of table rows, read with their header (see [`super::table`]): they replace what
    /// the word-by-word reader found inside those rows.
    fn table_quotas(&self, scan: &Scan, out: &mut Vec<QSpan>) {
        if !scan.orig.contains(['|', '\t']) {
            return;
        }
        let mut units: Vec<(usize, QuotaKind)> = Vec::new();
        let mut unit_hit: Vec<usize> = Vec::new();
        for (hi, h) in scan.hits.iter().enumerate() {
            for k in self.unit_kinds(scan, h) {
                units.push((scan.norm.to_orig(h.s), k));
                unit_hit.push(hi);
            }
        }
        let read = super::table::read(scan.orig, &units);
        if read.rows.is_empty() {
            return;
        }
        let in_row = |o: usize| read.rows.iter().any(|r| r.contains(&o));
        out.retain(|q| {
            !in_row(scan.norm.to_orig(q.q.num_start)) && !in_row(scan.norm.to_orig(q.q.start))
        });
        let t = scan.text().as_bytes();
        for tq in read.quotas {
            let h = &scan.hits[unit_hit[tq.unit]];
            let ns = scan.norm.to_folded(tq.num.start).max(h.e.min(t.len()));
            let ne = scan.norm.to_folded(tq.num.end).max(ns);
            let (s, e) = (h.s.min(ns), h.e.max(ne));
            let (words, _) = count_seps(&t[h.s.min(e)..e]);
            out.push(QSpan {
                q: RawQuota {
                    kind: tq.kind,
                    count: tq.count,
                    per: tq.per,
                    start: s,
                    end: e,
                    num_start: ns,
                    num_before: false,
                },
                sp: Span {
                    s,
                    e,
                    w0: h.wi,
                    w1: h.wi + words,
                    si: h.si,
                },
            });
        }
    }

    /// Occurrences of a phrase, anchored on its strongest word.
    fn phrase_occ(&self, ph: &Phrase, scan: &Scan) -> Vec<Span> {
        let text = scan.text();
        let t = text.as_bytes();
        let mut out: Vec<Span> = Vec::new();
        for &tid in &ph.slots[ph.anchor] {
            'hit: for &hi in &scan.occ[tid as usize] {
                let h = &scan.hits[hi as usize];
                // the neighbours' first letters, before their words are read
                let side = [h.prev.is_some(), h.next.is_some()];
                for ((g, there), f) in ph.gates.iter().zip(side).zip(h.near_first) {
                    if let Some(g) = g
                        && !(there && g.contains(&f))
                    {
                        continue 'hit;
                    }
                }
                let (mut s, mut e) = (h.s, h.e);
                // words before the anchor, nearest first
                for j in (0..ph.anchor).rev() {
                    let Some((ps, pe)) = (if s == h.s { h.prev } else { prev_word(t, s) }) else {
                        continue 'hit;
                    };
                    if !self.word_in_slot(scan, &text[ps..pe], &ph.slots[j]) {
                        continue 'hit;
                    }
                    s = ps;
                }
                for j in ph.anchor + 1..ph.slots.len() {
                    let Some((ns, ne)) = (if e == h.e { h.next } else { next_word(t, e) }) else {
                        continue 'hit;
                    };
                    if !self.word_in_slot(scan, &text[ns..ne], &ph.slots[j]) {
                        continue 'hit;
                    }
                    e = ne;
                }
                let w0 = h.wi.saturating_sub(ph.anchor as u32);
                out.push(Span {
                    s,
                    e,
                    w0,
                    w1: w0 + ph.slots.len() as u32 - 1,
                    si: h.si,
                });
            }
        }
        out.sort_by_key(|sp| (sp.s, sp.e));
        out.dedup_by_key(|sp| (sp.s, sp.e));
        out
    }

    /// Occurrences of a `near`: around each hit of its anchor slot, per other slot the nearest
    /// unused hit (the earlier one on a tie) within `within - 1` words, in the anchor's sentence
    /// unless `across_sentences`. Every near term has prefilter keys (the compiler refuses a
    /// short one) and every near slot's terms are in the prefilter (see [`Engine::new`]), so
    /// every word a slot matches is a verified hit carrying its term: a window is the hits
    /// around the anchor, found by word index, not each word of it walked and compared.
    fn near_occ(&self, near: &super::compile::Near, scan: &Scan) -> Vec<(Span, f64)> {
        let mut out = Vec::new();
        let n = near.slots.len();
        let reach = near.within.saturating_sub(1);
        let hits = &scan.hits;
        // per slot, the hits carrying one of its terms, in text order; a slot no word of the
        // text fills leaves nothing to find
        let mut slot_hits: Vec<Vec<u32>> = Vec::with_capacity(n);
        for (j, slot) in near.slots.iter().enumerate() {
            let mut v: Vec<u32> = Vec::new();
            if j != near.anchor {
                for &t in slot {
                    v.extend_from_slice(&scan.occ[t as usize]);
                }
                if v.is_empty() {
                    return out;
                }
                v.sort_unstable();
                v.dedup();
            }
            slot_hits.push(v);
        }
        let mut seen: Vec<u32> = Vec::new();
        let mut used: Vec<u32> = Vec::with_capacity(n);
        for &tid in &near.slots[near.anchor] {
            for &hi in &scan.occ[tid as usize] {
                if seen.contains(&hi) {
                    continue;
                }
                if seen.len() < 64 {
                    seen.push(hi);
                }
                let h = &hits[hi as usize];
                let lo = h.wi.saturating_sub(reach);
                let hi_wi = h.wi.saturating_add(reach);
                used.clear();
                used.push(hi);
                let (mut w0, mut w1) = (h.wi, h.wi);
                let mut ok = true;
                for (j, cand) in slot_hits.iter().enumerate() {
                    if j == near.anchor {
                        continue;
                    }
                    let a = cand.partition_point(|&x| hits[x as usize].wi < lo);
                    let mut best: Option<(u32, u32)> = None;
                    for &x in &cand[a..] {
                        let c = &hits[x as usize];
                        if c.wi > hi_wi {
                            break;
                        }
                        if (!near.across_sentences && c.si != h.si)
                            || used.contains(&x)
                            || w1.max(c.wi) - w0.min(c.wi) >= near.within
                        {
                            continue;
                        }
                        let d = c.wi.abs_diff(h.wi);
                        if best.is_none_or(|(bd, _)| d < bd) {
                            best = Some((d, x));
                        }
                    }
                    match best {
                        Some((_, x)) => {
                            w0 = w0.min(hits[x as usize].wi);
                            w1 = w1.max(hits[x as usize].wi);
                            used.push(x);
                        }
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if !ok {
                    continue;
                }
                let s = used
                    .iter()
                    .map(|&x| hits[x as usize].s)
                    .min()
                    .unwrap_or(h.s);
                let e = used
                    .iter()
                    .map(|&x| hits[x as usize].e)
                    .max()
                    .unwrap_or(h.e);
                let span_words = (w1 - w0 + 1) as f64;
                let score = 0.5 + 0.5 * (n as f64 / span_words).min(1.0);
                out.push((
                    Span {
                        s,
                        e,
                        w0,
                        w1,
                        si: h.si,
                    },
                    score,
                ));
            }
        }
        out
    }

    fn regex_occ(&self, re: &regex::Regex, scan: &Scan) -> Vec<Span> {
        let text = scan.text();
        let t = text.as_bytes();
        let (mut counted, mut wi, mut si) = (0usize, 0u32, 0u32);
        let mut out = Vec::new();
        for m in re.find_iter(text).take(MAX_MATCHES_PER_RULE * 10) {
            if m.start() == m.end() {
                continue;
            }
            let (dw, ds) = count_seps(&t[counted..m.start()]);
            wi += dw;
            si += ds;
            counted = m.start();
            let (iw, is) = count_seps(&t[m.start()..m.end()]);
            out.push(Span {
                s: m.start(),
                e: m.end(),
                w0: wi,
                w1: wi + iw,
                si: si + is,
            });
        }
        out
    }

    fn quota_ok(q: &RawQuota, req: &super::compile::QuotaReq) -> bool {
        req.kinds.contains(&q.kind)
            && q.count >= req.min_count
            && req.max_count.is_none_or(|m| q.count <= m)
            && (req.per.is_empty() || req.per.contains(&q.per))
    }

    fn evaluate(&self, rule: &CompiledRule, scan: &Scan) -> Vec<(Span, f64, Vec<usize>)> {
        // (place, score, whether it is a phrase's exact words)
        let mut cands: Vec<(Span, f64, bool)> = Vec::new();
        for ph in &rule.phrases {
            cands.extend(
                self.phrase_occ(ph, scan)
                    .into_iter()
                    .map(|s| (s, 1.0, true)),
            );
        }
        for n in &rule.near {
            cands.extend(
                self.near_occ(n, scan)
                    .into_iter()
                    .map(|(s, v)| (s, v, false)),
            );
        }
        for re in &rule.regex {
            cands.extend(
                self.regex_occ(re, scan)
                    .into_iter()
                    .map(|s| (s, 0.9, false)),
            );
        }
        let triggered_by_quota =
            rule.phrases.is_empty() && rule.near.is_empty() && rule.regex.is_empty();
        if triggered_by_quota && let Some(req) = &rule.quota {
            for q in &scan.quotas {
                if Self::quota_ok(&q.q, req) {
                    cands.push((q.sp, 0.8, false));
                }
            }
        }
        if cands.is_empty() {
            return Vec::new();
        }
        // dedupe overlapping places, keeping the better score
        cands.sort_by(|a, b| a.0.s.cmp(&b.0.s).then(b.1.total_cmp(&a.1)));
        let mut kept: Vec<(Span, f64, bool)> = Vec::new();
        for c in cands {
            match kept.last_mut() {
                Some(last) if c.0.s < last.0.e => {
                    if c.1 > last.1 {
                        *last = c;
                    }
                }
                _ => kept.push(c),
            }
        }
        // occurrences of the cancelling and context phrases, by first word
        let occ_of = |ps: &[Phrase]| {
            let mut v: Vec<Span> = ps.iter().flat_map(|p| self.phrase_occ(p, scan)).collect();
            v.sort_by_key(|u| u.w0);
            v
        };
        let unless = occ_of(&rule.unless);
        let context = rule
            .context
            .as_ref()
            .map(|c| occ_of(&c.any))
            .unwrap_or_default();
        let unless_context = rule
            .unless_context
            .as_ref()
            .map(|c| occ_of(&c.any))
            .unwrap_or_default();
        // any occurrence within `w` words of `sp` (same sentence if asked); one inside the words
        // of a phrase's longer match (`exact`) is part of the wording the phrase names, not a
        // word beside it ("non-official accounts" holds "official accounts")
        let near_any = |occ: &[Span], sp: &Span, w: u32, same_sentence: bool, exact: bool| {
            let lo = sp.w0.saturating_sub(w + MAX_PHRASE_WORDS);
            let from = occ.partition_point(|u| u.w0 < lo);
            occ[from..]
                .iter()
                .take_while(|u| u.w0 <= sp.w1 + w)
                .filter(|u| {
                    !(exact
                        && u.w0 >= sp.w0
                        && u.w1 <= sp.w1
                        && u.w1 - u.w0 < sp.w1 - sp.w0
                        && u.si == sp.si)
                })
                .any(|u| (!same_sentence || u.si == sp.si) && word_gap(u, sp) <= w)
        };
        let mut out = Vec::new();
        for (sp, score, exact) in kept.into_iter().take(MAX_CANDIDATES_PER_RULE) {
            // an unless phrase in the same sentence within `unless_within` words cancels
            if near_any(&unless, &sp, rule.unless_within, true, exact) {
                continue;
            }
            if let Some(c) = &rule.context
                && !near_any(&context, &sp, c.within, false, false)
            {
                continue;
            }
            if let Some(c) = &rule.unless_context
                && near_any(&unless_context, &sp, c.within, false, exact)
            {
                continue;
            }
            let attached: Vec<usize> = match &rule.quota {
                Some(req) => scan
                    .quotas
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| {
                        q.sp.si == sp.si
                            && word_gap(&q.sp, &sp) <= req.within
                            && Self::quota_ok(&q.q, req)
                    })
                    .map(|(i, _)| i)
                    .collect(),
                None => scan
                    .quotas
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| q.sp.si == sp.si && word_gap(&q.sp, &sp) <= ATTACH_WITHIN)
                    .map(|(i, _)| i)
                    .collect(),
            };
            if rule.quota.is_some() && attached.is_empty() {
                continue;
            }
            let score = if attached.is_empty() {
                score
            } else {
                (score + 0.1).min(1.0)
            };
            out.push((sp, score, attached));
            if out.len() >= MAX_MATCHES_PER_RULE {
                break;
            }
        }
        out
    }

    pub fn find(
        &self,
        text: &str,
        ctx: &Context,
        infos: &[RuleInfo],
        opinion: Option<&Model>,
    ) -> Findings {
        let mut cands: Vec<(usize, usize, u32, u32)> = Vec::new();
        let mut on_word = |w: &str, s: usize, wi: u32, si: u32| {
            if w.len() >= self.min_key
                && {
                    let b = bit2(w);
                    self.bitmap[b >> 6] & (1 << (b & 63)) != 0
                }
                && self.prefix3.contains(&pack3(w))
            {
                cands.push((s, s + w.len(), wi, si));
            }
        };
        let norm = normalize_with(text, Some(&mut on_word));
        let scan = self.scan(text, &norm, &cands);
        let map_quota = |q: &RawQuota| {
            let s = floor_boundary(text, norm.to_orig(q.start));
            let e = ceil_boundary(text, norm.to_orig(q.end)).max(s);
            Quota {
                kind: q.kind,
                count: q.count,
                per: q.per,
                start: s,
                end: e,
            }
        };
        let mut matches = Vec::new();
        // each match's span in the folded text, beside `matches`
        let mut fspans: Vec<(usize, usize)> = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if let (Some(min), Some(amount)) = (rule.min_amount, ctx.amount) {
                let same_currency = match (&rule.amount_currency, &ctx.currency) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b.trim()),
                    _ => true,
                };
                if same_currency && amount < min {
                    continue;
                }
            }
            for (sp, score, attached) in self.evaluate(rule, &scan) {
                let start = floor_boundary(text, norm.to_orig(sp.s));
                let end = ceil_boundary(text, norm.to_orig(sp.e)).max(start);
                let (evidence, evidence_start, end) = evidence(text, &norm, sp, start, end);
                matches.push(Match {
                    rule_id: infos[i].id.clone(),
                    severity: infos[i].severity,
                    score,
                    start,
                    end,
                    evidence,
                    evidence_start,
                    quotas: attached
                        .iter()
                        .map(|&k| map_quota(&scan.quotas[k].q))
                        .collect(),
                    reasons: Vec::new(),
                });
                fspans.push((sp.s, sp.e));
            }
        }
        // a rule that defers to another drops its matches that overlap one of the other's
        let deferring: Vec<(usize, &CompiledRule)> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.defer_to.is_empty())
            .collect();
        if !deferring.is_empty() {
            let spans: Vec<(&str, usize, usize)> = matches
                .iter()
                .map(|m: &Match| (m.rule_id.as_str(), m.start, m.end))
                .collect();
            let drop: Vec<bool> = matches
                .iter()
                .map(|m| {
                    deferring
                        .iter()
                        .filter(|(i, _)| infos[*i].id == m.rule_id)
                        .any(|(_, r)| {
                            spans.iter().any(|&(id, s, e)| {
                                r.defer_to.iter().any(|d| d == id) && s < m.end && m.start < e
                            })
                        })
                })
                .collect();
            let mut k = drop.iter();
            matches.retain(|_| !k.next().copied().unwrap_or(false));
            let mut k = drop.iter();
            fspans.retain(|_| !k.next().copied().unwrap_or(false));
        }
        if let Some(model) = opinion {
            second_opinion(model, text, &norm, &fspans, &mut matches, &map_quota, &scan);
        }
        matches.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.start.cmp(&b.start))
                .then(a.rule_id.cmp(&b.rule_id))
        });
        let mut quotas: Vec<Quota> = scan.quotas.iter().map(|q| map_quota(&q.q)).collect();
        quotas.dedup();
        Findings { matches, quotas }
    }
}

/// The second opinion (see `opinion.rs`) over the sentences of a text that hold a verified rule
/// word: a rule hit at medium or above whose every passage scores below the model's veto is
/// lowered to low, with the words why; the best passage above the threshold that no such hit
/// covers becomes a `second-opinion` match at medium.
#[allow(clippy::too_many_arguments)]
fn second_opinion(
    model: &Model,
    text: &str,
    norm: &Normalized,
    fspans: &[(usize, usize)],
    matches: &mut Vec<Match>,
    map_quota: &dyn Fn(&RawQuota) -> Quota,
    scan: &Scan,
) {
    let t = norm.text.as_bytes();
    let mut sents: Vec<(usize, usize)> = Vec::new();
    let mut s0 = 0usize;
    for (i, &b) in t.iter().enumerate() {
        if b == BREAK {
            sents.push((s0, i));
            s0 = i + 1;
        }
    }
    sents.push((s0, t.len()));
    // the sentences holding a word some rule term verified (not only the prefilter's guess)
    let mut has_cand = vec![false; sents.len()];
    for h in scan.hits.iter().filter(|h| h.anchor) {
        if let Some(c) = has_cand.get_mut(h.si as usize) {
            *c = true;
        }
    }
    let sent = |k: usize| &norm.text[sents[k].0..sents[k].1];
    let window = |k: usize, two: bool| -> Vec<&str> {
        if two && k + 1 < sents.len() {
            vec![sent(k), sent(k + 1)]
        } else {
            vec![sent(k)]
        }
    };
    // each sentence's weighted features (sorted by index) and their sum, computed once when
    // first needed; a pair of sentences sums both less what they share
    type Scored = (Vec<(u32, f32)>, f32);
    let mut hits: Vec<Option<Scored>> = vec![None; sents.len()];
    let mut score = |k: usize, two: bool| -> f32 {
        let last = if two && k + 1 < sents.len() { k + 1 } else { k };
        for (j, h) in hits.iter_mut().enumerate().take(last + 1).skip(k) {
            if h.is_none() {
                let v = model.hits([sent(j)]);
                let sum = v.iter().map(|x| x.1).sum();
                *h = Some((v, sum));
            }
        }
        let Some((a, sa)) = &hits[k] else { return 0.0 };
        if last == k {
            return model.prior() + sa;
        }
        let Some((b, sb)) = &hits[last] else {
            return 0.0;
        };
        let (mut i, mut j, mut common) = (0, 0, 0f32);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += a[i].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        model.prior() + sa + sb - common
    };
    let sentence_of = |fo: usize| sents.partition_point(|&(_, e)| e < fo).min(sents.len() - 1);
    // veto: rule hits whose passages all read as something else
    for (m, &(fs, fe)) in matches.iter_mut().zip(fspans) {
        if m.severity < Severity::Medium {
            continue;
        }
        let (k0, k1) = (sentence_of(fs), sentence_of(fe.saturating_sub(1).max(fs)));
        let mut best: Option<(f32, usize, bool)> = None;
        for k in k0.saturating_sub(1)..=k1 {
            for two in [false, true] {
                // a window must hold the hit's sentences
                let (ws, we) = if two { (k, k + 1) } else { (k, k) };
                if we < k0 || ws > k1 || (!two && (k < k0 || k > k1)) {
                    continue;
                }
                let sc = score(k, two);
                if best.is_none_or(|(b, _, _)| sc > b) {
                    best = Some((sc, k, two));
                }
            }
        }
        if let Some((sc, k, two)) = best
            && sc < model.veto
        {
            let o = model.explain(window(k, two));
            m.reasons
                .push(format!("lowered from {}: {}", m.severity, o.reason()));
            m.severity = Severity::Low;
        }
    }
    // the sentences a hit at medium or above covers (once, not per window: a long text has
    // many of both)
    let mut covered = vec![false; sents.len()];
    for (m, &(fs, fe)) in matches.iter().zip(fspans) {
        if m.severity >= Severity::Medium {
            let (k0, k1) = (sentence_of(fs), sentence_of(fe.saturating_sub(1).max(fs)));
            for c in &mut covered[k0..=k1.max(k0)] {
                *c = true;
            }
        }
    }
    // the best passage no rule flagged
    let mut best: Option<(f32, usize, bool)> = None;
    for k in 0..sents.len() {
        for two in [false, true] {
            let last = if two { k + 1 } else { k };
            if last >= sents.len() || !(has_cand[k] || has_cand[last]) {
                continue;
            }
            if covered[k] || covered[last] {
                continue;
            }
            let sc = score(k, two);
            if sc > model.threshold && best.is_none_or(|(b, _, _)| sc > b) {
                best = Some((sc, k, two));
            }
        }
    }
    let Some((sc, k, two)) = best else {
        return;
    };
    let last = if two { k + 1 } else { k };
    let (ws, we) = (sents[k].0, sents[last].1);
    let o = model.explain(window(k, two));
    let start = floor_boundary(text, norm.to_orig(ws));
    let end = ceil_boundary(text, norm.to_orig(we)).max(start);
    let sp = Span {
        s: ws,
        e: we,
        w0: 0,
        w1: 0,
        si: k as u32,
    };
    let (evidence, evidence_start, end) = evidence(text, norm, sp, start, end);
    let quotas = scan
        .quotas
        .iter()
        .filter(|q| q.q.start < we && ws < q.q.end)
        .map(|q| map_quota(&q.q))
        .collect();
    matches.push(Match {
        rule_id: super::opinion::RULE_ID.to_string(),
        severity: Severity::Medium,
        score: f64::from(1.0 / (1.0 + (-(sc - model.threshold) / 2.0).exp())),
        start,
        end,
        evidence,
        evidence_start,
        quotas,
        reasons: vec![o.reason()],
    });
}

/// The sentence around `[start, end)` in the original text, capped at [`EVIDENCE_CHARS`] chars.
/// Returns (evidence, its start, the match end clamped into it).
fn evidence(
    text: &str,
    norm: &Normalized,
    sp: Span,
    start: usize,
    end: usize,
) -> (String, usize, usize) {
    let t = norm.text.as_bytes();
    let ns = t[..sp.s]
        .iter()
        .rposition(|&b| b == BREAK)
        .map_or(0, |k| k + 1);
    let ne = t[sp.e.min(t.len())..]
        .iter()
        .position(|&b| b == BREAK)
        .map_or(t.len(), |k| sp.e + k);
    let window = EVIDENCE_CHARS * 4;
    let mut ss = floor_boundary(text, norm.to_orig(ns)).min(start);
    ss = ss.max(floor_boundary(text, start.saturating_sub(window)));
    let mut se = ceil_boundary(text, norm.to_orig(ne)).max(end);
    se = se.min(ceil_boundary(text, end.saturating_add(window)));
    if let Some(c) = text[se..].chars().next()
        && matches!(c, '.' | '!' | '?' | ';' | '…')
    {
        se += c.len_utf8();
    }
    let span_chars = text[start..end].chars().count();
    if span_chars >= EVIDENCE_CHARS {
        let e = text[start..]
            .char_indices()
            .nth(EVIDENCE_CHARS)
            .map_or(text.len(), |(i, _)| start + i);
        return (text[start..e].to_string(), start, e.min(end));
    }
    let budget = EVIDENCE_CHARS - span_chars;
    let left_chars = text[ss..start].chars().count();
    let right_chars = text[end..se].chars().count();
    let take_left = left_chars.min((budget / 2).max(budget.saturating_sub(right_chars)));
    let take_right = right_chars.min(budget - take_left);
    let mut es = if take_left == 0 {
        start
    } else {
        text[..start]
            .char_indices()
            .rev()
            .nth(take_left - 1)
            .map_or(ss, |(i, _)| i)
    };
    let mut ee = text[end..]
        .char_indices()
        .nth(take_right)
        .map_or(text.len(), |(i, _)| end + i);
    ee = ee.min(se.max(end));
    // trim whitespace, never past the span
    while es < start {
        match text[es..].chars().next() {
            Some(c) if c.is_whitespace() => es += c.len_utf8(),
            _ => break,
        }
    }
    while ee > end {
        match text[..ee].chars().next_back() {
            Some(c) if c.is_whitespace() => ee -= c.len_utf8(),
            _ => break,
        }
    }
    (text[es..ee].to_string(), es, end)
}

#[cfg(test)]
mod tests {
    use super::super::{Context, Period, QuotaKind, RuleSet};

    fn quotas(text: &str) -> Vec<(QuotaKind, u64, Option<Period>)> {
        let rs = RuleSet::builtin().unwrap();
        rs.find(text, &Context::default())
            .quotas
            .iter()
            .map(|q| (q.kind, q.count, q.per))
            .collect()
    }

    #[test]
    fn a_rule_that_defers_leaves_the_place_to_the_other() {
        let rs = RuleSet::builtin().unwrap();
        let f = rs.find(
            "Создание четырех фейковых аккаунтов для комментирования",
            &Context::default(),
        );
        let ids: Vec<&str> = f.matches.iter().map(|m| m.rule_id.as_str()).collect();
        assert_eq!(ids, ["fake-accounts"]);
        // where the other rule does not match, the deferring one still does
        let f = rs.find(
            "Исполнитель предоставляет прогретые аккаунты для публикации отзывов",
            &Context::default(),
        );
        assert!(f.matches.iter().any(|m| m.rule_id == "fake-personas"));
        let bad = r#"
[[rule]]
id = "a"
title = "A"
severity = "low"
why = "w"
phrases = ["фейк*"]
defer_to = ["nope"]
"#;
        let e = RuleSet::from_toml_str(bad, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml:3") && e.contains("nope"), "{e}");
    }

    #[test]
    fn quotas_read_as_a_reporter_would_print_them() {
        use Period::*;
        use QuotaKind::*;
        // a row number is not the count; the row's own number is
        assert_eq!(
            quotas("№ | Наименование | Ед. изм. | Количество\n1 | Комментарии | шт. в месяц | 900"),
            [(Comments, 900, Some(Month))]
        );
        assert_eq!(
            quotas("1 | Комментарии под видеообращениями | шт. | 250\n2 | Лайки | шт. | 1 500"),
            [(Comments, 250, None), (Likes, 1500, None)]
        );
        // one number counts one unit: the noun it counts
        assert_eq!(
            quotas("Post at least 30 positive comments per day"),
            [(Comments, 30, Some(Day))]
        );
        assert_eq!(
            quotas("күніне 25 оң пікір жазу"),
            [(Comments, 25, Some(Day))]
        );
        assert_eq!(
            quotas("Комментарии к публикациям – не менее 400 в месяц"),
            [(Comments, 400, Some(Month))]
        );
        // durations and deadlines are never counts
        assert_eq!(quotas("пікірлеріне 24 сағат ішінде жауап беру"), []);
        assert_eq!(quotas("ответ на комментарии в течение 24 часов"), []);
        // quarters and the whole term
        assert_eq!(
            quotas("Количество комментариев — 1 500 в квартал"),
            [(Comments, 1500, Some(Quarter))]
        );
        assert_eq!(
            quotas("тоқсан сайын 900 пікір"),
            [(Comments, 900, Some(Quarter))]
        );
        assert_eq!(
            quotas("За весь период оказания услуг не менее 2 500 комментариев"),
            [(Comments, 2500, Some(Term))]
        );
        assert_eq!(
            quotas("Шарт мерзімі ішінде кемінде 3 000 пікір"),
            [(Comments, 3000, Some(Term))]
        );
        // rates after a slash, multipliers after digits, accounts without a period
        assert_eq!(
            quotas("комменты: не менее 20/сутки"),
            [(Comments, 20, Some(Day))]
        );
        assert_eq!(quotas("20 мың жазылушы"), [(Followers, 20_000, None)]);
        assert_eq!(
            quotas("ежемесячно 12 фейковых аккаунтов"),
            [(Accounts, 12, None)]
        );
        // ... but the whole term they are kept for
        assert_eq!(
            quotas("Өнім беруші кемінде 4 аккаунт ашып, оларды шарт мерзімі ішінде жүргізеді."),
            [(Accounts, 4, Some(Term))]
        );
        // a rate adverb right after the number is a period, a duration noun is not
        assert_eq!(
            quotas("Привлечение подписчиков, не менее 1500 ежемесячно"),
            [(Followers, 1500, Some(Month))]
        );
        assert_eq!(
            quotas("не менее 1500 подписчиков за 2 месяца"),
            [(Followers, 1500, None)]
        );
        // "X сайын" typed plain, the support period, materials and pages
        assert_eq!(
            quotas("кун сайын кемiнде 15 пiкiр калдыру"),
            [(Comments, 15, Some(Day))]
        );
        assert_eq!(
            quotas("сүйемелдеу кезеңінде 300 пікір орналастырады"),
            [(Comments, 300, Some(Term))]
        );
        assert_eq!(
            quotas("объем — не менее 40 материалов в месяц"),
            [(Posts, 40, Some(Month))]
        );
        assert_eq!(
            quotas("через их личные страницы (не менее 5 страниц)"),
            [(Accounts, 5, None)]
        );
        // far from its unit, a number after a marker and before a rate is its count
        assert_eq!(
            quotas(
                "Написание комментариев от имени пользователей, не являющихся сотрудниками \
                 Заказчика, под публикациями аппарата акима района, не менее 30 в сутки."
            ),
            [(Comments, 30, Some(Day))]
        );
        // ... but not without the marker and the rate
        assert_eq!(
            quotas(
                "Написание комментариев от имени пользователей, не являющихся сотрудниками \
                 Заказчика, под публикациями аппарата акима района в 2 этапа."
            ),
            []
        );
        // "тоқсан сайын" is every quarter, not ninety; "бір" alone is "one pattern", but a
        // marker asks for at least one; times, working days and gigabits are no counts
        assert_eq!(
            quotas("жазылушылары тоқсан сайын кемінде 5 пайызға өсуі тиіс"),
            []
        );
        assert_eq!(quotas("бір үлгідегі пікірлер анықталса"), []);
        assert_eq!(
            quotas("Не менее одного отзыва в день на Яндекс Картах"),
            [(Comments, 1, Some(Day))]
        );
        assert_eq!(
            quotas("Удаление коментариев от фэйковых акаунтов в течении 1 рабочего дня"),
            []
        );
        assert_eq!(quotas("ресми парақшада эфирлерін айына 2 рет өткізу"), []);
        // followers of a page: the page is nearer, the count is of the followers
        assert_eq!(
            quotas("Прирост подписчиков официальной страницы не менее 1000 в квартал"),
            [(Followers, 1000, Some(Quarter))]
        );
        assert_eq!(
            quotas(
                "Увеличение количества подписчиков официального аккаунта не менее чем на 3 000 в месяц"
            ),
            [(Followers, 3000, Some(Month))]
        );
        // a unit's price is no count; a count with its total is
        assert_eq!(
            quotas("Пікір қалдыру қызметі: 1 пікір – 500 теңге, айына 400 пікір."),
            [(Comments, 400, Some(Month))]
        );
        assert_eq!(quotas("из расчёта 500 тенге за 1 (один) комментарий"), []);
        assert_eq!(
            quotas("Комментарии: 900 комментариев – 450 000 тенге"),
            [(Comments, 900, None)]
        );
        assert_eq!(
            quotas("Жазылушылар санын 5000-ға жеткізу"),
            [(Followers, 5000, None)]
        );
        // money is not a count
        assert_eq!(
            quotas("Стоимость одного комментария – 500 тенге, всего 2 600 комментариев"),
            [(Comments, 2600, None)]
        );
    }

    #[test]
    fn quotas_in_three_languages() {
        use Period::*;
        use QuotaKind::*;
        assert_eq!(
            quotas("не менее 50 комментариев в день"),
            [(Comments, 50, Some(Day))]
        );
        assert_eq!(quotas("4 фейковых аккаунта"), [(Accounts, 4, None)]);
        assert_eq!(
            quotas("создание четырех фейковых аккаунтов"),
            [(Accounts, 4, None)]
        );
        // a monitoring service that also makes accounts: the accounts made are counted
        assert_eq!(
            quotas(
                "В рамках услуг информационного мониторинга Поставщик осуществляет создание \
                 четырех фейковых аккаунтов для комментирования"
            ),
            [(Accounts, 4, None)]
        );
        assert_eq!(
            quotas("мониторинг и обработка не менее 3 000 комментариев"),
            []
        );
        // shares, years, lengths and adjectives are no counts
        assert_eq!(
            quotas("пікірлердің 70%-ы қазақ тілінде, жалпы көлемі – тәулігіне кемінде 35 пікір"),
            [(Comments, 35, Some(Day))]
        );
        assert_eq!(
            quotas("whether the SMM contracts from 2019–2023 included paid comment services"),
            []
        );
        assert_eq!(
            quotas("Post 5-star reviews on Google Maps, 20 reviews per month"),
            [(Comments, 20, Some(Month))]
        );
        assert_eq!(
            quotas(
                "объем одного комментария — не менее 150 знаков; ежедневный объем — 35 комментариев"
            ),
            [(Comments, 35, Some(Day))]
        );
        assert_eq!(
            quotas("50 (пятьдесят) комментариев в сутки"),
            [(Comments, 50, Some(Day))]
        );
        assert_eq!(
            quotas("1 000 подписчиков в месяц"),
            [(Followers, 1000, Some(Month))]
        );
        assert_eq!(quotas("күніне 50 пікір"), [(Comments, 50, Some(Day))]);
        assert_eq!(quotas("төрт жалған аккаунт"), [(Accounts, 4, None)]);
        assert_eq!(
            quotas("at least 30 comments per day"),
            [(Comments, 30, Some(Day))]
        );
        assert_eq!(quotas("four fake accounts"), [(Accounts, 4, None)]);
        assert_eq!(quotas("отыз пікір аптасына"), [(Comments, 30, Some(Week))]);
        assert_eq!(
            quotas("тысячу лайков ежемесячно"),
            [(Likes, 1000, Some(Month))]
        );
        assert_eq!(
            quotas("Количество комментариев: не менее 20 в сутки"),
            [(Comments, 20, Some(Day))]
        );
        assert_eq!(
            quotas("пятидесяти комментариев в течение 30 дней"),
            [(Comments, 50, None)]
        );
        assert_eq!(
            quotas("Количество отзывов о работе управления: не менее 40 в месяц"),
            [(Comments, 40, Some(Month))]
        );
        assert_eq!(
            quotas("Комментарии положительного характера — 25 в сутки"),
            [(Comments, 25, Some(Day))]
        );
        assert_eq!(quotas("комментарии к статье 50 Налогового кодекса"), []);
        assert_eq!(quotas("Комментарий к Налоговому кодексу"), []);
        assert_eq!(quotas("в 2024 году комментарии к закону"), []);
        assert_eq!(quotas("5 пар ботинок"), []);
    }

    #[test]
    fn quota_offsets_point_at_number_and_unit() {
        let rs = RuleSet::builtin().unwrap();
        let t = "Итого: не менее 50 (пятьдесят) ком\u{00AD}ментариев в день.";
        let f = rs.find(t, &Context::default());
        assert_eq!(f.quotas.len(), 1);
        let q = f.quotas[0];
        assert_eq!(&t[q.start..q.end], "50 (пятьдесят) ком\u{00AD}ментариев");
    }

    #[test]
    fn match_offsets_and_evidence() {
        let rs = RuleSet::builtin().unwrap();
        let t = "Раздел 2. Исполнитель обязан: создание четырёх фейковых aккаунтов для комментирования. Прочее.";
        let f = rs.find(t, &Context::default());
        let m = f
            .matches
            .iter()
            .find(|m| m.rule_id == "fake-accounts")
            .unwrap();
        assert_eq!(&t[m.start..m.end], "фейковых aккаунтов");
        assert!(m.evidence.starts_with("Исполнитель обязан"));
        assert!(m.evidence.ends_with("комментирования."));
        assert_eq!(
            &m.evidence[m.start - m.evidence_start..m.end - m.evidence_start],
            "фейковых aккаунтов"
        );
        assert_eq!(m.quotas.len(), 1);
        assert_eq!(m.quotas[0].count, 4);
        assert_eq!(m.severity, super::super::Severity::High);
    }

    #[test]
    fn evidence_is_capped_at_300_chars() {
        let rs = RuleSet::builtin().unwrap();
        let filler = "слово ".repeat(200);
        let t = format!("{filler}создание фейковых аккаунтов {filler}");
        let f = rs.find(&t, &Context::default());
        let m = &f.matches[0];
        assert!(m.evidence.chars().count() <= 300);
        assert_eq!(&t[m.start..m.end], "фейковых аккаунтов");
        let rel = m.start - m.evidence_start;
        assert_eq!(
            &m.evidence[rel..rel + (m.end - m.start)],
            "фейковых аккаунтов"
        );
    }

    #[test]
    fn unless_cancels_nearby_only() {
        let rs = RuleSet::builtin().unwrap();
        let ids = |t: &str| -> Vec<String> {
            rs.find(t, &Context::default())
                .matches
                .into_iter()
                .map(|m| m.rule_id)
                .collect()
        };
        assert!(ids("Выявление и блокировка фейковых аккаунтов").is_empty());
        // the cancelling words are in another sentence
        assert!(
            ids("Семинар о борьбе с фейками. Создание фейковых аккаунтов для акимата")
                .contains(&"fake-accounts".to_string())
        );
    }

    #[test]
    fn near_windows_count_words_and_keep_to_the_sentence() {
        let src = r#"
[[rule]]
id = "n"
title = "n"
severity = "high"
why = "w"
near = [{ terms = ["фейк*", "аккаунт*", "коммент*"], within = 5 }]

[[rule]]
id = "far"
title = "far"
severity = "high"
why = "w"
near = [{ terms = ["сетк*", "коммент*"], within = 3, across_sentences = true }]
"#;
        let rs = RuleSet::from_toml_str(src, "near.toml").unwrap();
        let found = |t: &str| -> Vec<(String, String)> {
            rs.find(t, &Context::default())
                .matches
                .into_iter()
                .map(|m| (m.rule_id, t[m.start..m.end].to_string()))
                .collect()
        };
        // all three within five words, in any order
        assert_eq!(
            found("комменты с фейковых аккаунтов"),
            [("n".into(), "комменты с фейковых аккаунтов".into())]
        );
        // six words from first to last is too far
        assert!(found("фейковые аккаунты для того чтобы комментировать").is_empty());
        // a sentence end between them
        assert!(found("Фейковые аккаунты. Комментарии").is_empty());
        // the nearer of two candidates
        assert_eq!(
            found("коммент фейк аккаунт раз два коммент"),
            [("n".into(), "коммент фейк аккаунт".into())]
        );
        assert_eq!(
            found("коммент раз два фейк аккаунт коммент"),
            [("n".into(), "фейк аккаунт коммент".into())]
        );
        // across sentences when the rule asks, by words, not by sentences
        assert_eq!(
            found("Сетка. Комментарии"),
            [("far".into(), "Сетка. Комментарии".into())]
        );
        assert!(found("Сетка раз два. Комментарии").is_empty());
    }

    #[test]
    fn thresholds_on_quota_and_amount() {
        let src = r#"
[[rule]]
id = "many-comments"
title = "Many comments"
severity = "medium"
why = "many"
quota = { kinds = ["comments"], min_count = 100, per = ["day"] }
min_amount = 1000000
amount_currency = "KZT"
"#;
        let rs = RuleSet::from_toml_str(src, "t.toml").unwrap();
        let hit = |t: &str, ctx: &Context| !rs.find(t, ctx).matches.is_empty();
        let none = Context::default();
        assert!(hit("не менее 150 комментариев в день", &none));
        assert!(!hit("не менее 50 комментариев в день", &none));
        assert!(!hit("не менее 150 комментариев в месяц", &none));
        let small = Context {
            amount: Some(500_000.0),
            currency: Some("KZT".into()),
        };
        let big = Context {
            amount: Some(1_300_000.0),
            currency: Some("kzt".into()),
        };
        assert!(!hit("не менее 150 комментариев в день", &small));
        assert!(hit("не менее 150 комментариев в день", &big));
        // another currency: the threshold cannot be compared and is not applied
        let usd = Context {
            amount: Some(10.0),
            currency: Some("USD".into()),
        };
        assert!(hit("не менее 150 комментариев в день", &usd));
    }

    #[test]
    fn sorted_by_severity_then_start() {
        let rs = RuleSet::builtin().unwrap();
        let t = "Ведение аккаунтов в социальных сетях. Отработка негатива. Создание фейковых аккаунтов.";
        let f = rs.find(t, &Context::default());
        let sev: Vec<_> = f.matches.iter().map(|m| m.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sev, sorted);
        assert_eq!(f.matches[0].rule_id, "fake-accounts");
    }

    #[test]
    fn random_text_never_panics() {
        let rs = RuleSet::builtin().unwrap();
        let words = [
            "фейковых",
            "аккаунтов",
            "50",
            "000",
            "комментариев",
            "в",
            "день",
            "(",
            ")",
            "-",
            "\u{00AD}",
            "пятьдесят",
            "бот",
            "чат",
            "пікір",
            "күніне",
            ".",
            "\n",
            "a",
            "ё",
            "😀",
            "\u{0308}",
            "ﬁ",
            "тысячу",
            "the",
            "fake",
            "accounts",
            "накрутка",
            "лайков",
            "ᾯ",
        ];
        let mut x: u64 = 88172645463325252;
        for round in 0..2000 {
            let mut s = String::new();
            for _ in 0..(round % 60) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(7) {
                    s.push(char::from_u32((x >> 8) as u32 % 0x3000).unwrap_or(' '));
                } else {
                    s.push_str(words[(x % words.len() as u64) as usize]);
                    if !x.is_multiple_of(3) {
                        s.push(' ');
                    }
                }
            }
            let f = rs.find(&s, &Context::default());
            for m in &f.matches {
                assert!(s.is_char_boundary(m.start) && s.is_char_boundary(m.end));
                assert!(
                    m.evidence_start <= m.start && m.end <= m.evidence_start + m.evidence.len()
                );
                assert_eq!(
                    &s[m.evidence_start..m.evidence_start + m.evidence.len()],
                    m.evidence
                );
                assert!(m.evidence.chars().count() <= 300);
            }
            for q in &f.quotas {
                assert!(
                    s.is_char_boundary(q.start) && s.is_char_boundary(q.end) && q.start <= q.end
                );
            }
        }
    }

    #[test]
    fn the_noun_a_number_counts_is_its_unit() {
        use Period::*;
        use QuotaKind::*;
        // "the number of comments" heads its phrase; "No" before a word is no number's label
        assert_eq!(
            quotas("Number of comments: not less than 250 per month."),
            [(Comments, 250, Some(Month))]
        );
        assert_eq!(
            quotas(
                "Comments shall be posted from personal-looking profiles with no reference to \
                 the Ministry, in a volume of at least 300 per month."
            ),
            [(Comments, 300, Some(Month))]
        );
        // "г." of a town is no year
        assert_eq!(
            quotas(
                "Размещение комментариев в поддержку акима г. Шымкент в количестве 300 шт./мес."
            ),
            [(Comments, 300, Some(Month))]
        );
        // a rate adverb that closes the clause further on
        assert_eq!(
            quotas(
                "Размещение не менее 40 положительных отзывов о работе поликлиник г. Семей на \
                 платформах 2ГИС и Google Карты ежемесячно."
            ),
            [(Comments, 40, Some(Month))]
        );
        // a number right before another noun counts that noun
        assert_eq!(
            quotas("Защита от ботов: не более 60 запросов в минуту с одного IP-адреса."),
            []
        );
        assert_eq!(
            quotas("Әкімдіктің 25 қызметкеріне бот-желілер мен жалған аккаунттарды анықтау."),
            []
        );
        assert_eq!(
            quotas("Background: a 2023 study estimated that bots accounted for most comments."),
            []
        );
        assert_eq!(
            quotas(
                "Обеспечить не менее 10 000 просмотров каждого видеоролика за счет исполнителя."
            ),
            []
        );
        // the unit that names what is counted wins over a nearer one
        assert_eq!(
            quotas("Подписчиктер саны: +5000 (живые аккаунты, без отписок)."),
            [(Followers, 5000, None)]
        );
        assert_eq!(
            quotas(
                "Күнделікті есеп: жазылған пікірлер саны (кемінде 40), қолданылған аккаунттар тізімі."
            ),
            [(Comments, 40, Some(Day))]
        );
        // ... and a lone number's bracket closes its phrase, not a number's word in brackets
        assert_eq!(
            quotas("Создание 4 (четырех) фейковых аккаунтов"),
            [(Accounts, 4, None)]
        );
        // typed as they are typed
        assert_eq!(
            quotas("Прирост подпищиков в соц.сетях - не менее 4000 чел."),
            [(Followers, 4000, None)]
        );
        assert_eq!(
            quotas("Отметки «Нравится» под публикациями Заказчика — не менее 2 000 в месяц"),
            [(Likes, 2000, Some(Month))]
        );
    }

    #[test]
    fn periods_as_clerks_write_them() {
        use Period::*;
        use QuotaKind::*;
        // accounts are kept, not produced: a period after them counts what follows
        assert_eq!(
            quotas("Ведение 4 аккаунтов ежемесячно."),
            [(Accounts, 4, None)]
        );
        // a plan headed by its period, a total for the term after it; a month per table row
        assert_eq!(
            quotas(
                "Monthly plan:\n- supportive comments: 400;\n- reposts: 60.\nTotal for the 6-month term: 2 400 comments."
            ),
            [
                (Comments, 400, Some(Month)),
                (Posts, 60, Some(Month)),
                (Comments, 2400, Some(Term))
            ]
        );
        assert_eq!(
            quotas("Month | Comments | Likes\nOctober | 500 | 2 000\nNovember | 600 | 2 500"),
            [
                (Comments, 500, Some(Month)),
                (Comments, 600, Some(Month)),
                (Likes, 2000, Some(Month)),
                (Likes, 2500, Some(Month))
            ]
        );
        // a unit after "per" is what the count is counted against; thousands with a decimal
        assert!(
            !quotas("Negative reactions: not less than 100 per publication.")
                .iter()
                .any(|q| q.0 == Posts)
        );
        assert_eq!(
            quotas("Комментарии: 10 на каждую публикацию."),
            [(Comments, 10, None)]
        );
        assert_eq!(
            quotas("Ориентир: 1,5 тыс. комментариев в месяц."),
            [(Comments, 1500, Some(Month))]
        );
        // the month or quarter an act or a plan is headed with; a date is no period
        assert_eq!(
            quotas("АКТ выполненных работ за март 2023 г.\n1. Размещение отзывов на 2ГИС — 45 шт."),
            [(Comments, 45, Some(Month))]
        );
        assert_eq!(
            quotas(
                "Орындалған жұмыстар актісі, 2023 жылғы қыркүйек.\n1. Тұрғындар атынан жазылған пікірлер — 40 дана."
            ),
            [(Comments, 40, Some(Month))]
        );
        assert_eq!(
            quotas("Итого за III квартал: размещено комментариев — 310."),
            [(Comments, 310, Some(Quarter))]
        );
        assert_eq!(
            quotas("Размещение 40 отзывов до 31 марта 2024 г."),
            [(Comments, 40, None)]
        );
        // "placement of comments" counts the comments, as "the number of comments" does
        assert_eq!(
            quotas("Placement of positive comments under the posts – not less than 200 per month"),
            [(Comments, 200, Some(Month))]
        );
        // so many pieces once the volume is named, far from the unit
        assert_eq!(
            quotas(
                "Comments from third-party profiles that are not connected with either the Customer or the Contractor, in a volume of 150 units per quarter."
            ),
            [(Comments, 150, Some(Quarter))]
        );
        // the whole term as machine translation writes it
        assert_eq!(
            quotas("not less than 900 comments in support for the whole period of rendering"),
            [(Comments, 900, Some(Term))]
        );
        // Kazakh typed with a Latin "i", and monthly as an adjective
        assert_eq!(
            quotas("әр акаунттан кунiне 10 комент"),
            [(Comments, 10, Some(Day))]
        );
        assert_eq!(
            quotas("Әкімдік туралы жарияланымдарға пайдаланушы пікірлерінің айлық саны – 500."),
            [(Comments, 500, Some(Month))]
        );
        // "in one day", not "2 months" of a duration
        assert_eq!(
            quotas("пікірлерді тұрғындар атынан жазу – 1 күнде 12 пікір"),
            [(Comments, 12, Some(Day))]
        );
        assert_eq!(quotas("бір айда 250 пікір"), [(Comments, 250, Some(Month))]);
        // the whole term closing the clause further on, for what is made, not for accounts
        assert_eq!(
            quotas(
                "Размещение не менее 150 текстовых отзывов о мобильном приложении в App Store \
                 и Google Play, равномерно в течение срока договора."
            ),
            [(Comments, 150, Some(Term))]
        );
        // "the number of" on the way makes the next number its count
        assert_eq!(
            quotas("жазылушылар санын шарт соңына дейін 5000-ға арттыру"),
            [(Followers, 5000, Some(Term))]
        );
        // a table's "Норма" column holds the counts, its "Период" column their periods
        assert_eq!(
            quotas(
                "Показатель | Норма | Период\nКомментарии под постами | 40 | в день\nЛайки | 200 | в неделю"
            ),
            [(Comments, 40, Some(Day)), (Likes, 200, Some(Week))]
        );
        // "ай сайынғы" (monthly) as an adjective; a norm "по лайкам" names what it counts
        assert_eq!(
            quotas("Ай сайынғы жоспар: 800 пікір, 200 репост."),
            [(Comments, 800, Some(Month)), (Posts, 200, Some(Month))]
        );
        assert_eq!(
            quotas("Кто не отработал норму по лайкам — 200 в день — премию не получает."),
            [(Likes, 200, Some(Day))]
        );
        // a period right before the number wins over one after a comma; months after a
        // number are a duration
        assert_eq!(
            quotas("тоқсанына кемінде 900 пікір, бір аккаунттан тәулігіне үштен артық емес"),
            [(Comments, 900, Some(Quarter))]
        );
        assert_eq!(
            quotas(
                "Создание страниц с историей активности не менее трёх месяцев; количество страниц — 20."
            ),
            [(Accounts, 20, None)]
        );
        // a table with a column of negative comments counts what others wrote
        assert_eq!(
            quotas(
                "Месяц | Публикаций | Комментариев | Из них негативных\nЯнварь | 62 | 1 480 | 212"
            ),
            []
        );
        // what appeared or was found is reported, not ordered
        assert_eq!(
            quotas(
                "Блогер показал, как под его видео за час появилось 60 одинаковых комментариев."
            ),
            []
        );
        // a Kazakh verb after the quota counts only in its own clause
        assert_eq!(
            quotas(
                "Жаңа ресми аккаунттар ашу: TikTok және Telegram арналары (2 аккаунт), верификация рәсімін өткізу."
            ),
            [(Accounts, 2, None)]
        );
    }
}
