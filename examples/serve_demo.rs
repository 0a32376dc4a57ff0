//! Builds a small database of invented tenders for the newsroom's web page
//! (`tenderscan serve`): notices over six months from several agencies, each with its
//! technical specification kept as evidence, awards and suppliers, a changed amount, read by
//! the built-in rules, and a few reviewers' verdicts. `scripts/serve-screenshots.sh` serves it
//! and photographs the pages the README shows.
//!
//! Usage: cargo run --example serve_demo -- DIR
//! Writes DIR/config.toml and DIR/demo.db (replacing an older demo.db). Every name, number
//! and BIN below is invented.

use tenderscan::config::Config;
use tenderscan::evidence::Evidence;
use tenderscan::model::{
    Agency, AwardRecord, DocumentRef, LotRecord, NoticeRecord, PortalTime, Supplier,
};
use tenderscan::pipeline::{self, RunOptions, StopFlag};
use tenderscan::rules::RuleSet;
use tenderscan::states::Verdict;
use tenderscan::store::{DocumentContent, RunCounts, Store, VerdictInput, sha256_hex};

struct Invented {
    id: &'static str,
    title: &'static str,
    agency: usize,
    region: &'static str,
    published: &'static str,
    amount: f64,
    /// The winner (index into SUPPLIERS) and the contract amount, where awarded.
    award: Option<(usize, f64)>,
    spec: &'static str,
}

const AGENCIES: &[(&str, &str)] = &[
    ("990140000001", "ГУ «Аппарат акима города Примерный»"),
    (
        "990140000002",
        "ГУ «Управление внутренней политики области Условной»",
    ),
    ("990140000003", "ГУ «Отдел культуры района Вымышленный»"),
    (
        "990140000004",
        "ГУ «Управление цифровизации города Образцовый»",
    ),
    (
        "990140000005",
        "КГУ «Аппарат акима Сказочного сельского округа»",
    ),
];

const SUPPLIERS: &[(&str, &str)] = &[
    ("870101300011", "ИП «Медиа Старт»"),
    ("160240000022", "ТОО «Инфо Поток»"),
    ("190340000033", "ТОО «Нұр Контент»"),
];

const TENDERS: &[Invented] = &[
    Invented {
        id: "910001",
        title: "Услуги по информационному сопровождению деятельности акимата",
        agency: 0,
        region: "Примерная область",
        published: "2026-06-04T04:00:00Z",
        amount: 7_200_000.0,
        award: Some((0, 7_150_000.0)),
        spec: "Техническая спецификация.\n\
               Исполнитель обеспечивает создание четырёх фейковых аккаунтов для \
               комментирования публикаций акимата в социальных сетях.\n\
               № | Наименование | Ед. изм. | Кол-во в месяц\n\
               1 | Комментарии | шт. | 900\n\
               2 | Публикации | шт. | 30\n",
    },
    Invented {
        id: "910002",
        title: "Продвижение страниц управления в социальных сетях",
        agency: 1,
        region: "Условная область",
        published: "2026-07-15T05:30:00Z",
        amount: 3_500_000.0,
        award: Some((1, 3_480_000.0)),
        spec: "Исполнитель размещает не менее 300 положительных комментариев в месяц от имени \
               обычных пользователей под публикациями управления.",
    },
    Invented {
        id: "910003",
        title: "Мониторинг социальных сетей и отработка негатива",
        agency: 2,
        region: "Условная область",
        published: "2026-08-02T03:00:00Z",
        amount: 1_100_000.0,
        award: None,
        spec: "Отработка негатива: нейтрализация негативных комментариев, контркомментирование \
               в социальных сетях в течение всего срока договора.",
    },
    Invented {
        id: "910004",
        title: "Әлеуметтік желілерде ақпараттық қолдау көрсету қызметі",
        agency: 4,
        region: "Примерная область",
        published: "2026-08-20T06:00:00Z",
        amount: 2_400_000.0,
        award: Some((2, 2_390_000.0)),
        spec: "Орындаушы айына кемінде 500 оң пікір жазады және әкімдіктің жарияланымдарын \
               қолдайтын 10 жалған аккаунт ашады.",
    },
    Invented {
        id: "910005",
        title: "Услуги по ведению официальных аккаунтов отдела",
        agency: 2,
        region: "Условная область",
        published: "2026-09-09T04:00:00Z",
        amount: 900_000.0,
        award: None,
        spec: "Ведение официальной страницы отдела: публикации, ответы на вопросы граждан от \
               имени официального аккаунта, удаление спама и бот-аккаунтов.",
    },
    Invented {
        id: "910006",
        title: "Формирование позитивного информационного фона",
        agency: 3,
        region: "город Образцовый",
        published: "2026-09-28T05:00:00Z",
        amount: 12_600_000.0,
        award: Some((1, 12_400_000.0)),
        spec: "Создание и ведение сети из 25 аккаунтов, не связанных с заказчиком, для \
               размещения комментариев в поддержку проектов управления: не менее 40 \
               комментариев в день.",
    },
    Invented {
        id: "910007",
        title: "Приобретение бумаги офисной",
        agency: 0,
        region: "Примерная область",
        published: "2026-10-05T03:00:00Z",
        amount: 450_000.0,
        award: None,
        spec: "Бумага офисная формата А4, 80 г/м², 500 листов в пачке, 120 пачек.",
    },
    Invented {
        id: "910008",
        title: "Услуги лидеров мнений из числа жителей района",
        agency: 4,
        region: "Примерная область",
        published: "2026-10-19T06:00:00Z",
        amount: 1_800_000.0,
        award: None,
        spec: "Привлечение лидеров мнений из числа жителей, которые без указания на заказчика \
               публикуют положительные отзывы о работе акимата: 60 публикаций в месяц.",
    },
    Invented {
        id: "910009",
        title: "Информационно-разъяснительная работа в сети Интернет",
        agency: 1,
        region: "Условная область",
        published: "2026-11-03T04:00:00Z",
        amount: 5_000_000.0,
        award: Some((0, 4_950_000.0)),
        spec: "Количество комментариев: не менее 1 000 в месяц под публикациями о \
               государственных программах. Прирост подписчиков не менее 5000 любыми способами.",
    },
    Invented {
        id: "910010",
        title: "Продвижение туристического потенциала района",
        agency: 2,
        region: "Условная область",
        published: "2026-11-21T05:00:00Z",
        amount: 2_000_000.0,
        award: None,
        spec: "Размещение отзывов о гостиницах и зонах отдыха района на 2ГИС и Google Maps от \
               имени туристов: 200 отзывов за срок договора.",
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: serve_demo DIR")?);
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[database]\npath = \"demo.db\"\n\n[[sources]]\nname = \"goszakup\"\n\
         kind = \"goszakup\"\nurl = \"https://ows.goszakup.gov.kz\"\n",
    )?;
    let cfg = Config::load(&config)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.database.path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let evidence = Evidence::beside(&cfg.database.path).with_store(cfg.evidence.store);
    let _ = std::fs::remove_dir_all(evidence.dir());
    let mut store = Store::open(&cfg.database.path)?;
    let source = store.ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")?;
    for t in TENDERS {
        store_tender(&mut store, &evidence, source, t, t.amount)?;
    }
    scan(&cfg, &mut store)?;
    // An amount cut after the flag: a second version of the notice, "what changed".
    store_tender(&mut store, &evidence, source, &TENDERS[5], 9_800_000.0)?;
    scan(&cfg, &mut store)?;
    for (id, rule, verdict, note) in [
        (
            "910001",
            "fake-accounts",
            Verdict::Published,
            "Вышло в материале от 12 ноября",
        ),
        (
            "910006",
            "fake-accounts",
            Verdict::Confirmed,
            "Сеть аккаунтов, подтверждено по договору",
        ),
        (
            "910003",
            "negativity-work",
            Verdict::Watching,
            "Ждём договор и акт выполненных работ",
        ),
        (
            "910002",
            "smm-services",
            Verdict::FalsePositive,
            "Само по себе SMM не нарушение",
        ),
    ] {
        let Some(notice_id) = notice_id(&store, id)? else {
            continue;
        };
        let flagged: bool = store.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM matches WHERE notice_id = ?1 AND rule_id = ?2)",
            rusqlite::params![notice_id, rule],
            |r| r.get(0),
        )?;
        if flagged {
            store.record_verdict(&VerdictInput {
                notice_id,
                lot: None,
                rule,
                verdict,
                note: Some(note),
                reviewer: "aigul",
            })?;
        }
    }
    println!("{}", config.display());
    Ok(())
}

fn notice_id(store: &Store, external: &str) -> Result<Option<i64>, rusqlite::Error> {
    use rusqlite::OptionalExtension;
    store
        .conn()
        .query_row(
            "SELECT id FROM notices WHERE external_id = ?1",
            [external],
            |r| r.get(0),
        )
        .optional()
}

/// Stores the tender as the goszakup source would bring it, then its specification's bytes
/// as evidence and its text as the document's, as the pipeline's fetch would.
fn store_tender(
    store: &mut Store,
    evidence: &Evidence,
    source: i64,
    t: &Invented,
    amount: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let (bin, name) = AGENCIES[t.agency];
    let spec_url = format!("https://v3bl.goszakup.gov.kz/files/download_file/{}", t.id);
    let rec = NoticeRecord {
        external_id: t.id.into(),
        number: Some(format!("{}-1", t.id)),
        title: t.title.into(),
        agency: Some(Agency {
            id: bin.into(),
            name_ru: Some(name.into()),
            ..Agency::default()
        }),
        amount: Some(amount),
        currency: Some("KZT".into()),
        method: Some("Запрос ценовых предложений".into()),
        status: Some("Опубликовано".into()),
        region: Some(t.region.into()),
        published: Some(PortalTime {
            utc: Some(t.published.parse()?),
            original: t.published.replace('T', " ").replace('Z', ""),
        }),
        url: Some(format!(
            "https://goszakup.gov.kz/ru/announce/index/{}",
            t.id
        )),
        lots: vec![LotRecord {
            external_id: format!("{}-lot", t.id),
            number: Some(format!("{}-ЗЦП1", t.id)),
            title: Some(t.title.into()),
            amount: Some(amount),
            ..LotRecord::default()
        }],
        documents: vec![DocumentRef {
            url: spec_url,
            file_name: Some(format!("Техническая спецификация {}.txt", t.id)),
            title: Some("Техническая спецификация".into()),
            is_spec: true,
            media_type: Some("text/plain".into()),
            contract: None,
        }],
        awards: t
            .award
            .map(|(s, contract)| {
                let (sbin, sname) = SUPPLIERS[s];
                vec![AwardRecord {
                    external_id: format!("{}-award", t.id),
                    status: Some("active".into()),
                    amount: Some(contract),
                    currency: Some("KZT".into()),
                    suppliers: vec![Supplier {
                        id: sbin.into(),
                        scheme: "KZ-BIN".into(),
                        name: Some(sname.into()),
                    }],
                    contract_id: Some(format!("{}-contract", t.id)),
                    contract_status: Some("signed".into()),
                    contract_amount: Some(contract),
                    ..AwardRecord::default()
                }]
            })
            .unwrap_or_default(),
        ..NoticeRecord::default()
    };
    let out = store.store_page(source, &[rec], None)?;
    for id in out.touched {
        for d in store.pending_documents(id)? {
            let bytes = t.spec.as_bytes();
            let kept = evidence.put(bytes)?;
            store.save_document(
                d.id,
                &DocumentContent {
                    kind: Some("text".into()),
                    media_type: Some("text/plain".into()),
                    sha256: Some(kept.sha256.clone()),
                    size: Some(bytes.len() as i64),
                    text: Some(t.spec.into()),
                    text_source: Some("text".into()),
                    ..Default::default()
                },
            )?;
            debug_assert_eq!(kept.sha256, sha256_hex(bytes));
        }
    }
    Ok(())
}

fn scan(cfg: &Config, store: &mut Store) -> Result<(), Box<dyn std::error::Error>> {
    let rules = RuleSet::builtin()?;
    let opts = RunOptions::default();
    let stop = StopFlag::default();
    let ctx = pipeline::Run {
        cfg,
        rules: &rules,
        opts: &opts,
        stop: &stop,
        watches: &[],
    };
    let mut counts = RunCounts::default();
    pipeline::scan(ctx, store, true, &mut counts)?;
    Ok(())
}
