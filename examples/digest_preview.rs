//! Writes a digest made from invented tenders into an outbox folder, the way `tenderscan run`
//! would mail it: invented notices are stored in a fresh database, read by the built-in rules
//! (quotas, volume tables and all) and composed for one recipient in the given language.
//! `scripts/digest-screenshot.sh` turns it into the PNG the README shows.
//!
//! Usage: cargo run --example digest_preview -- DIR [ru|kk|en]
//! Every name, number and BIN below is invented.

use tenderscan::config::Config;
use tenderscan::model::{Agency, LotRecord, NoticeRecord, PortalTime};
use tenderscan::pipeline::{self, RunOptions, StopFlag};
use tenderscan::rules::RuleSet;
use tenderscan::store::{RunCounts, Store};

struct Invented {
    id: &'static str,
    title: &'static str,
    agency: (&'static str, &'static str),
    amount: f64,
    text: &'static str,
}

const TENDERS: &[Invented] = &[
    Invented {
        id: "900101",
        title: "Услуги по информационному сопровождению деятельности акимата",
        agency: ("990140000001", "ГУ «Аппарат акима города Примерный»"),
        amount: 7_200_000.0,
        text: "Техническая спецификация. Исполнитель обеспечивает создание четырёх фейковых аккаунтов \
               для комментирования публикаций акимата в социальных сетях.\n\
               № | Наименование | Ед. изм. | Кол-во в месяц\n\
               1 | Комментарии | шт. | 900\n\
               2 | Публикации | шт. | 30\n",
    },
    Invented {
        id: "900102",
        title: "Продвижение страниц управления в социальных сетях",
        agency: (
            "990140000002",
            "ГУ «Управление внутренней политики области Условной»",
        ),
        amount: 3_500_000.0,
        text: "Исполнитель размещает не менее 300 положительных комментариев в месяц от имени \
               обычных пользователей под публикациями управления.",
    },
    Invented {
        id: "900103",
        title: "Мониторинг социальных сетей и отработка негатива",
        agency: ("990140000003", "ГУ «Отдел культуры района Вымышленный»"),
        amount: 1_100_000.0,
        text: "Отработка негатива: нейтрализация негативных комментариев, контркомментирование \
               в социальных сетях в течение всего срока договора.",
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: digest_preview DIR [ru|kk|en]")?);
    let lang = args.next().unwrap_or_else(|| "ru".into());
    if !["ru", "kk", "en"].contains(&lang.as_str()) {
        return Err(format!("{lang:?}: the language is ru, kk or en").into());
    }
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\npath = \"preview.db\"\n\n[mail]\nfrom = \"tenderscan <alerts@newsroom.example>\"\n\
             dry_run_dir = \"outbox\"\n\n[[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\n\
             url = \"https://ows.goszakup.gov.kz\"\n\n[[recipients]]\nemail = \"desk@newsroom.example\"\n\
             min_severity = \"low\"\nlanguage = \"{lang}\"\n"
        ),
    )?;
    let cfg = Config::load(&config)?;
    let _ = std::fs::remove_file(&cfg.database.path);
    let mut store = Store::open(&cfg.database.path)?;
    let source = store.ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")?;
    for t in TENDERS {
        let rec = NoticeRecord {
            external_id: t.id.into(),
            number: Some(format!("{}-1", t.id)),
            title: t.title.into(),
            agency: Some(Agency {
                id: t.agency.0.into(),
                name_ru: Some(t.agency.1.into()),
                ..Agency::default()
            }),
            amount: Some(t.amount),
            currency: Some("KZT".into()),
            deadline: Some(PortalTime {
                utc: Some("2026-12-10T13:00:00Z".parse()?),
                original: "2026-12-10 18:00:00".into(),
            }),
            url: Some(format!(
                "https://goszakup.gov.kz/ru/announce/index/{}",
                t.id
            )),
            lots: vec![LotRecord {
                external_id: format!("{}-lot", t.id),
                number: Some(format!("{}-ЗЦП1", t.id)),
                title: Some("Услуги SMM".into()),
                description: Some(t.text.into()),
                amount: Some(t.amount),
                ..LotRecord::default()
            }],
            ..NoticeRecord::default()
        };
        store.store_page(source, &[rec], None)?;
    }
    let rules = RuleSet::builtin()?;
    let opts = RunOptions::default();
    let stop = StopFlag::default();
    let ctx = pipeline::Run {
        cfg: &cfg,
        rules: &rules,
        opts: &opts,
        stop: &stop,
        watches: &[],
    };
    let mut counts = RunCounts::default();
    pipeline::scan(ctx, &mut store, true, &mut counts)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let texts = pipeline::rule_texts(&rules);
    let report = rt.block_on(tenderscan::alert::send_pending(
        &mut store,
        &cfg,
        &texts,
        &tenderscan::alert::SendOptions::default(),
    ))?;
    if report.digests_sent == 0 {
        return Err(format!("no digest was composed: {report:?}").into());
    }
    println!("{}", dir.join("outbox").display());
    Ok(())
}
