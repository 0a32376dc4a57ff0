//! Rule matching throughput: `RuleSet::builtin().find` over a few MB of generated, varied
//! technical-assignment text (Russian, Kazakh, some English; goods, works, services, SMM, and a
//! little nurbot wording), against a baseline: a similar phrase list as one plain `regex`
//! alternation over the raw text, without normalisation, stemming, quotas or evidence.
//!
//! Run: `cargo bench --bench rules` (`RULES_BENCH_WRITE=DIR` also writes the corpus and the
//! baseline's pattern there, for ripgrep and `tenderscan match`)

#[path = "support/mem.rs"]
mod mem;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tenderscan::rules::{Context, RuleSet};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn num(&mut self, max: u64) -> u64 {
        1 + self.next() % max
    }
}

const RU_SUBJ: &[&str] = &[
    "Поставщик",
    "Исполнитель",
    "Подрядчик",
    "Потенциальный поставщик",
    "Исполнитель услуг",
    "Заказчик",
    "Ответственное лицо Исполнителя",
    "Специалист Исполнителя",
];
const RU_VERB: &[&str] = &[
    "обязан обеспечить",
    "осуществляет",
    "должен выполнить",
    "обеспечивает",
    "производит",
    "организует",
    "предоставляет",
    "гарантирует",
];
const RU_OBJ: &[&str] = &[
    "поставку бумаги офисной формата А4 плотностью 80 г/м²",
    "текущий ремонт кровли административного здания акимата",
    "техническое обслуживание системы видеонаблюдения и охранной сигнализации",
    "вывоз твердых бытовых отходов с территории учреждения",
    "поставку зимних ботинок для сотрудников охраны",
    "услуги по уборке помещений и прилегающей территории",
    "разработку проектно-сметной документации на реконструкцию дороги",
    "информационное сопровождение деятельности государственного органа в средствах массовой информации",
    "ведение официальных аккаунтов в социальных сетях Instagram и Facebook",
    "подготовку и размещение публикаций на официальном интернет-ресурсе",
    "мониторинг публикаций в СМИ и социальных сетях с ежедневным отчетом",
    "организацию праздничного мероприятия с фейерверком",
    "поставку компьютерной техники и периферийного оборудования",
    "создание учетных записей пользователей информационной системы",
    "сопровождение чат-бота для обращений граждан",
    "обучение сотрудников работе в системе электронного документооборота",
    "изготовление и монтаж информационных стендов и баннеров",
    "поставку горюче-смазочных материалов для служебного автотранспорта",
];
const RU_TAIL: &[&str] = &[
    "в соответствии с требованиями настоящей технической спецификации",
    "в сроки, установленные договором о государственных закупках",
    "с предоставлением ежемесячного отчета Заказчику",
    "согласно приложению к техническому заданию",
    "за счет собственных средств и материалов",
    "в течение 30 (тридцати) календарных дней с даты заключения договора",
    "с соблюдением требований санитарных норм и правил",
    "по адресу: г. Рудный, ул. Ленина, д. 12",
];
const RU_NURBOT: &[&str] = &[
    "Создание четырех фейковых аккаунтов для комментирования публикаций.",
    "Размещение не менее 50 положительных комментариев в день под публикациями акимата.",
    "Отработка негатива в социальных сетях в течение двух часов с момента появления.",
    "Накрутка подписчиков и лайков в официальном аккаунте.",
    "Количество комментариев в социальных сетях: не менее 30 в сутки.",
];
const KK_SENT: &[&str] = &[
    "Өнім беруші техникалық ерекшелікке сәйкес кеңсе қағазын жеткізуді қамтамасыз етеді",
    "Орындаушы әкімдіктің әкімшілік ғимаратының шатырын ағымдағы жөндеуді жүргізеді",
    "Мердігер жол қозғалысы қауіпсіздігін қамтамасыз ету жөніндегі жұмыстарды орындайды",
    "Әлеуметтік желілерде ресми парақшаны жүргізу және жарияланымдар дайындау",
    "Қызметкерлерге арналған қысқы аяқ киімді жеткізу, 40 жұп",
    "Орындаушы ай сайын Тапсырыс берушіге атқарылған жұмыстар туралы есеп ұсынады",
    "Мемлекеттік сатып алу туралы шартта белгіленген мерзімде қызмет көрсету",
    "Бұқаралық ақпарат құралдарында мемлекеттік органның қызметін ақпараттық сүйемелдеу",
    "Азаматтардың өтініштерін қабылдау үшін чат-ботты сүйемелдеу",
];
const KK_NURBOT: &[&str] = &[
    "Әлеуметтік желілерде төрт жалған аккаунт ашу және жүргізу.",
    "Күніне кемінде 50 жағымды пікір жазу.",
];
const EN_SENT: &[&str] = &[
    "The supplier shall deliver the goods within 30 calendar days of signing the contract",
    "The contractor provides monthly reports on the social media management of the official pages",
    "Maintenance of the video surveillance system in the administrative building",
    "Training of staff in the use of the electronic document management system",
];

fn corpus(bytes: usize) -> String {
    let mut r = Rng(0x2545F4914F6CDD1D);
    let mut s = String::with_capacity(bytes + 1024);
    let mut para = 0u64;
    while s.len() < bytes {
        para += 1;
        s.push_str(&format!("{}.{} ", para / 7 + 1, para % 7 + 1));
        let k = r.next() % 100;
        if k < 62 {
            s.push_str(&format!(
                "{} {} {} {}, в количестве {} единиц, на сумму {} {} тенге.",
                r.pick(RU_SUBJ),
                r.pick(RU_VERB),
                r.pick(RU_OBJ),
                r.pick(RU_TAIL),
                r.num(500),
                r.num(90),
                r.num(999) + 100
            ));
        } else if k < 88 {
            s.push_str(&format!("{}, {} дана.", r.pick(KK_SENT), r.num(300)));
        } else if k < 97 {
            s.push_str(&format!("{}.", r.pick(EN_SENT)));
        } else if k < 99 {
            s.push_str(r.pick(RU_NURBOT));
        } else {
            s.push_str(r.pick(KK_NURBOT));
        }
        s.push(if r.next().is_multiple_of(4) {
            '\n'
        } else {
            ' '
        });
    }
    s
}

/// The baseline: a phrase list close to the built-in rules' phrases, as one case-insensitive
/// regex alternation over the raw text (no folding, no stemming: `\w*` stands in for endings).
fn baseline_regex() -> regex::Regex {
    let phrases = [
        r"(?:фейк\w*|липов\w*|поддельн\w*|фиктивн\w*|вымышленн\w*|подставн\w*|анонимн\w*)[\s-]+(?:аккаунт\w*|профил\w*|страниц\w*)",
        r"(?:фейк\w*|вымышленн\w*|несуществующ\w*)\s+пользовател\w*",
        r"мультиаккаунт\w*",
        r"ботоферм\w*",
        r"(?:жалған|жасанды)\s+(?:аккаунт\w*|парақша\w*|профиль\w*)",
        r"(?:fake|sock|bogus|anonymous|puppet|bot)[\s-]+(?:accounts?|profiles?|pages?)",
        r"(?:положительн\w*|позитивн\w*|нейтральн\w*)\s+(?:комментари\w*|отзыв\w*)",
        r"(?:отработк\w*|нейтрализ\w*|вытеснен\w*)\s+негатив\w*",
        r"контр[\s-]?комментари\w*",
        r"накрут\w*\s+(?:подписчик\w*|лайк\w*|просмотр\w*)",
        r"(?:покупк\w*|приобретен\w*)\s+(?:подписчик\w*|лайк\w*)",
        r"жағымды\s+пікір\w*",
        r"\d+\s+комментари\w*",
        r"smm",
        r"ведени\w*\s+(?:официальн\w*\s+)?(?:аккаунт\w*|страниц\w*)",
        r"мониторинг\w*\s+(?:социальн\w*|сми)",
        r"әлеуметтік\s+желі\w*",
        r"social\s+media\s+(?:management|monitoring|marketing)",
    ];
    regex::Regex::new(&format!("(?i){}", phrases.join("|"))).unwrap()
}

/// Nanoseconds this thread has spent on a CPU (Linux), to report throughput independent of
/// other load on a shared machine.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn cpu_mb_per_s(label: &str, bytes: usize, runs: u32, mut f: impl FnMut()) {
    f();
    let mut per_run = Vec::new();
    for _ in 0..runs {
        let Some(c0) = thread_cpu_ns() else { return };
        f();
        let Some(c1) = thread_cpu_ns() else { return };
        per_run.push((c1 - c0) as f64 / 1e9);
    }
    per_run.sort_by(f64::total_cmp);
    let mb = bytes as f64 / (1024.0 * 1024.0);
    eprintln!(
        "{label}: {:.0} MiB/s median, {:.0} MiB/s best, on thread CPU time ({runs} runs)",
        mb / per_run[per_run.len() / 2],
        mb / per_run[0]
    );
}

fn bench(c: &mut Criterion) {
    let text = corpus(4 << 20);
    let rs = RuleSet::builtin().unwrap();
    let so = RuleSet::builtin()
        .unwrap()
        .with_second_opinion(tenderscan::rules::Model::builtin().unwrap())
        .unwrap();
    let ctx = Context::default();
    let found = rs.find(&text, &ctx);
    eprintln!(
        "corpus {} bytes: {} matches, {} quotas",
        text.len(),
        found.matches.len(),
        found.quotas.len()
    );
    let with = so.find(&text, &ctx);
    let extra = with
        .matches
        .iter()
        .filter(|m| m.rule_id == "second-opinion")
        .count();
    let lowered = with
        .matches
        .iter()
        .filter(|m| !m.reasons.is_empty())
        .count()
        - extra;
    eprintln!(
        "with the second opinion: {} matches ({extra} second-opinion, {lowered} lowered)",
        with.matches.len()
    );
    let re = baseline_regex();
    eprintln!("baseline regex: {} matches", re.find_iter(&text).count());
    // For the side-by-side with ripgrep and `tenderscan match` (BENCHMARKS.md): the corpus
    // and the baseline's pattern as files.
    if let Ok(dir) = std::env::var("RULES_BENCH_WRITE") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("corpus.txt"), &text).unwrap();
        std::fs::write(dir.join("pattern.txt"), re.as_str()).unwrap();
        eprintln!("wrote corpus.txt and pattern.txt to {}", dir.display());
    }
    mem::report_peak("builtin_find, one pass", || {
        black_box(rs.find(black_box(&text), &ctx));
    });
    mem::report_peak("baseline_regex_alternation, one pass", || {
        black_box(re.find_iter(black_box(&text)).count());
    });

    assert_eq!(
        tenderscan::rules::bench_fold(&text, true),
        tenderscan::rules::bench_fold(&text, false)
    );
    cpu_mb_per_s("fold_fast_path", text.len(), 20, || {
        black_box(tenderscan::rules::bench_fold(black_box(&text), true));
    });
    cpu_mb_per_s("fold_general_path_only", text.len(), 20, || {
        black_box(tenderscan::rules::bench_fold(black_box(&text), false));
    });
    cpu_mb_per_s("builtin_find", text.len(), 20, || {
        black_box(rs.find(black_box(&text), &ctx));
    });
    cpu_mb_per_s("builtin_find_second_opinion", text.len(), 20, || {
        black_box(so.find(black_box(&text), &ctx));
    });
    cpu_mb_per_s("baseline_regex_alternation", text.len(), 20, || {
        black_box(re.find_iter(black_box(&text)).count());
    });

    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.bench_function("fold_fast_path", |b| {
        b.iter(|| black_box(tenderscan::rules::bench_fold(black_box(&text), true)))
    });
    g.bench_function("fold_general_path_only", |b| {
        b.iter(|| black_box(tenderscan::rules::bench_fold(black_box(&text), false)))
    });
    g.bench_function("builtin_find", |b| {
        b.iter(|| black_box(rs.find(black_box(&text), &ctx)))
    });
    g.bench_function("builtin_find_second_opinion", |b| {
        b.iter(|| black_box(so.find(black_box(&text), &ctx)))
    });
    g.bench_function("baseline_regex_alternation", |b| {
        b.iter(|| black_box(re.find_iter(black_box(&text)).count()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
