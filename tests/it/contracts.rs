//! goszakup contracts (the `Contract` root, crawled after the announcements and the
//! journal): through the real binary, against a goszakup-shaped API on 127.0.0.1 (fixtures in
//! the shapes of shared/formats/goszakup.md, "Checked against public client code"), a real
//! SQLite file and the real SMTP test server.

use crate::pipeline::{NURBOT_SPEC, TOKEN, graphql_page, trd_buy};
use crate::smtp::{SmtpServer, parse_mime};
use crate::util::{count, docx, tenderscan};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const RU: &str = "desk@newsroom.example";

/// One contract in the GraphQL v3 shape. `trd_buy_id` 0 is a direct contract.
fn contract(
    id: i64,
    trd_buy_id: i64,
    supplier: &str,
    amount: f64,
    status: &str,
    files: Value,
) -> Value {
    json!({
        "id": id, "parentId": null, "rootId": id,
        "trdBuyId": trd_buy_id,
        "trdBuyNumberAnno": if trd_buy_id == 0 { Value::Null } else { json!(format!("{trd_buy_id}-1")) },
        "trdBuyNameRu": if trd_buy_id == 0 { Value::Null } else { json!("Информационные услуги") },
        "trdBuyNameKz": null,
        "refContractStatusId": 290, "deleted": 0,
        "crdate": "2026-11-25 09:00:00", "lastUpdateDate": "2026-11-25 09:30:00",
        "supplierId": 4410, "supplierBiin": supplier,
        "supplierLegalAddress": "Костанайская область, г. Рудный, ул. Ленина, 1",
        "contractNumber": format!("990240001234/2600{id}/00"), "contractNumberSys": format!("{id}-ДГ"),
        "customerBin": "990240001234", "refSubjectTypeId": 3, "finYear": 2026,
        "refCurrencyCode": "KZT", "exchangeRate": 1,
        "contractSum": amount, "contractSumWnds": amount,
        "signDate": "2026-11-25 11:00:00", "ecEndDate": null, "planExecDate": "2026-12-31 00:00:00",
        "faktExecDate": null, "faktSum": null, "faktSumWnds": null,
        "contractEndDate": "2026-12-31 00:00:00", "refContractCancelId": null, "refContractTypeId": 1,
        "descriptionRu": if trd_buy_id == 0 { json!("Услуги по ведению аккаунтов в социальных сетях") } else { Value::Null },
        "descriptionKz": null,
        "faktTradeMethodsId": if trd_buy_id == 0 { 50 } else { 3 },
        "systemId": 3, "indexDate": "2026-11-25 10:00:00",
        "FaktTradeMethods": {"nameRu": if trd_buy_id == 0 {
            "Из одного источника путем прямого заключения договора" } else { "Запрос ценовых предложений" }},
        "RefContractStatus": {"nameRu": status},
        "RefContractType": {"nameRu": "Основной"},
        "File": files,
        "ContractUnits": [{"id": id * 10, "itemPrice": amount, "quantity": 1, "totalSum": amount,
            "Plans": {"id": id * 100, "nameRu": "Услуги по созданию контента",
                "descRu": "Услуги информационные", "extraDescRu": "Сопровождение страниц акимата",
                "refEnstruCode": "731112.000.000000", "count": 1, "price": amount, "amount": amount,
                "subjectBiin": "990240001234"}}]
    })
}

fn contract_page(items: Vec<Value>) -> ResponseTemplate {
    let last = items.last().and_then(|i| i["id"].as_i64());
    let body = json!({
        "data": {"Contract": items},
        "extensions": {"pageInfo": {"limitPage": 50, "totalCount": 2, "hasNextPage": false, "lastId": last}}
    });
    ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), "application/json")
}

/// The portal: announcement 900001 (its specification orders fake accounts), contract 880001
/// of it (to ТОО «Медиа Бот»), direct contract 880002 (to a sole trader, its technical
/// specification and the signed contract in `File`), at the amounts given.
async fn mount_portal(server: &MockServer, attached: f64, direct: f64) {
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(body_string_contains("TrdBuy("))
        .respond_with(graphql_page(vec![trd_buy(
            &uri,
            900001,
            "Информационные услуги",
            1_300_000.0,
            5001,
        )]))
        .mount(server)
        .await;
    let files = json!([
        {"nameRu": "Договор", "filePath": format!("{uri}/files/download_file/7000/"),
         "originalName": "dogovor_880002.docx"},
        {"nameRu": "Техническая спецификация", "filePath": format!("{uri}/files/download_file/7001/"),
         "originalName": "techspec_880002.docx"}
    ]);
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(body_string_contains("Contract("))
        .respond_with(contract_page(vec![
            contract(
                880001,
                900001,
                "051140001234",
                attached,
                "Действует",
                json!([{"nameRu": "Договор", "filePath": format!("{uri}/files/download_file/7002/"),
                    "originalName": "dogovor_880001.docx"}]),
            ),
            contract(880002, 0, "850101300123", direct, "Действует", files),
        ]))
        .mount(server)
        .await;
    crate::pipeline::mount_empty_journal(server).await;
    for (bin, name) in [
        ("051140001234", "ТОО «Медиа Бот»"),
        ("850101300123", "ИП Касымов Нурлан"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v3/subject/biin/{bin}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(
                    json!({"pid": 1, "bin": bin, "iin": null, "name_ru": name, "name_kz": null})
                        .to_string(),
                    "application/json",
                ),
            )
            .mount(server)
            .await;
    }
    let spec = ResponseTemplate::new(200).set_body_raw(docx(NURBOT_SPEC), DOCX);
    for id in [5001, 7001] {
        Mock::given(method("GET"))
            .and(path(format!("/files/download_file/{id}/")))
            .respond_with(spec.clone())
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/files/download_file/7002/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            docx(&["Договор № 880001 на оказание информационных услуг"]),
            DOCX,
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/download_file/7000/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            docx(&["Договор о государственных закупках услуг", "Сумма договора"]),
            DOCX,
        ))
        .mount(server)
        .await;
}

fn write_config(dir: &Path, url: &str, smtp_port: u16) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n\n\
         [evidence]\nkeep_days = 365\n\n\
         [mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nsecurity = \"none\"\nfrom = \"tenderscan <alerts@newsroom.example>\"\ntimeout_secs = 10\n\n\
         [[recipients]]\nemail = \"{RU}\"\nmin_severity = \"medium\"\nlanguage = \"ru\"\n"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// `tenderscan run` with the token, which must exit 0.
pub(crate) fn run(dir: &Path) {
    let out = tenderscan(dir)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn contracts_attach_to_announcements_stand_as_direct_notices_and_change_as_versions() {
    let server = MockServer::start().await;
    mount_portal(&server, 1_250_000.0, 1_300_000.0).await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(&dir.path().join("maildir"));
    write_config(dir.path(), &server.uri(), smtp.port);
    let db = dir.path().join("t.db");

    run(dir.path());

    // The announcement keeps its id; the direct contract is a notice of its own.
    assert_eq!(
        crate::util::query_strings(&db, "SELECT external_id FROM notices ORDER BY external_id"),
        ["900001", "contract-880002"]
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (title, number, method, url, amount): (String, String, String, String, f64) = conn
        .query_row(
            "SELECT title, number, method, url, amount FROM notices
             WHERE external_id = 'contract-880002'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(title, "Услуги по ведению аккаунтов в социальных сетях");
    assert_eq!(number, "990240001234/2600880002/00");
    assert_eq!(
        method,
        "Из одного источника путем прямого заключения договора"
    );
    assert_eq!(
        url,
        "https://goszakup.gov.kz/ru/egzcontract/cpublic/show/880002"
    );
    assert_eq!(amount, 1_300_000.0);
    // The announcement kept its own fields: the contract only brought an award.
    let (title, method): (String, String) = conn
        .query_row(
            "SELECT title, method FROM notices WHERE external_id = '900001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (title.as_str(), method.as_str()),
        ("Информационные услуги", "Запрос ценовых предложений")
    );
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT count(*) || '' FROM lots l JOIN notices n ON n.id = l.notice_id WHERE n.external_id = '900001'"
        ),
        ["1"]
    );
    // The announcement's contract brought its document: fetched, read and kept.
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT d.file_name FROM documents d JOIN notices n ON n.id = d.notice_id
             WHERE n.external_id = '900001' AND d.removed_at IS NULL
               AND d.text LIKE '%Договор № 880001%'"
        ),
        ["dogovor_880001.docx"]
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM evidence e JOIN notices n ON n.id = e.notice_id
             WHERE n.external_id = '900001' AND e.kind = 'document'
               AND e.url LIKE '%/7002/'"
        ),
        1
    );
    // Who was paid, by notice.
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT n.external_id || ' ' || s.identifier || ' ' || s.name || ' ' || aw.contract_amount
             FROM awards aw JOIN notices n ON n.id = aw.notice_id
             JOIN award_suppliers x ON x.award_id = aw.id JOIN suppliers s ON s.id = x.supplier_id
             ORDER BY n.external_id"
        ),
        [
            "900001 051140001234 ТОО «Медиа Бот» 1250000.0",
            "contract-880002 850101300123 ИП Касымов Нурлан 1300000.0"
        ]
    );
    // The direct contract's technical specification was fetched, kept and read: flagged.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents d JOIN notices n ON n.id = d.notice_id
             WHERE n.external_id = 'contract-880002' AND d.is_spec = 1
               AND d.text LIKE '%фейковых аккаунтов%'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM evidence e JOIN notices n ON n.id = e.notice_id
             WHERE n.external_id = 'contract-880002' AND e.kind = 'document'"
        ),
        2
    );
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT DISTINCT n.external_id FROM matches m JOIN notices n ON n.id = m.notice_id
             WHERE m.severity = 'high' AND m.retracted_at IS NULL ORDER BY n.external_id"
        ),
        ["900001", "contract-880002"]
    );
    // Each root has its own cursor, both at the start of this crawl for the next.
    let cursor: Value =
        serde_json::from_str(&crate::util::query_strings(&db, "SELECT cursor FROM sources")[0])
            .unwrap();
    assert_eq!(cursor["phase"], "graphql");
    assert_eq!(cursor["contracts"]["from"], cursor["from"]);
    assert_eq!(cursor["contracts"]["after"], Value::Null);

    // The digest says who was paid and how.
    let files = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(files.len(), 1);
    let m = parse_mime(&files[0]);
    let text = m.part("text/plain").to_string();
    if std::env::var_os("SHOW_MAIL").is_some() {
        eprintln!("{text}");
    }
    let html = m.part("text/html").to_string();
    assert!(
        text.contains("Поставщик: ИП Касымов Нурлан (БИН 850101300123)"),
        "{text}"
    );
    assert!(
        text.contains("Способ закупки: Из одного источника путем прямого заключения договора"),
        "{text}"
    );
    assert!(
        text.contains("Поставщик: ТОО «Медиа Бот» (БИН 051140001234)"),
        "{text}"
    );
    assert!(
        html.contains("ТОО «Медиа Бот» (БИН 051140001234)")
            || html.contains("ТОО &laquo;Медиа Бот&raquo; (БИН 051140001234)"),
        "{html}"
    );

    // The contract came after the announcement was flagged: its recipients hear of it too.
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT n.external_id FROM alerts a JOIN notices n ON n.id = a.notice_id
             WHERE a.kind = 'changed' ORDER BY n.external_id"
        ),
        ["900001"]
    );

    // suppliers_of_flagged reads goszakup's contracts.
    let out = tenderscan(dir.path())
        .args(["report", "suppliers_of_flagged", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids: Vec<&str> = rows
        .iter()
        .map(|r| r["supplier_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["051140001234", "850101300123"], "{rows:?}");

    // `show` lists who was paid, for the announcement and the direct contract alike.
    for (notice, bin) in [
        ("900001-1", "051140001234"),
        ("contract-880002", "850101300123"),
    ] {
        let out = tenderscan(dir.path())
            .args(["show", notice, "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "show {notice}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let text = v["awards"].to_string();
        assert!(text.contains(bin), "show {notice}: {text}");
    }

    let version = |id: &str| {
        count(
            &db,
            &format!("SELECT version FROM notices WHERE external_id = '{id}'"),
        )
    };
    assert_eq!(version("900001"), 2, "the announcement, then its contract");
    assert_eq!(version("contract-880002"), 1);

    // Run 2: the portal lists everything again, unchanged: nothing changes, nothing is sent.
    run(dir.path());
    assert_eq!(version("900001"), 2, "the roots do not take turns");
    assert_eq!(version("contract-880002"), 1);
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE removed_at IS NOT NULL"
        ),
        0,
        "the announcement's record keeps its contract's document"
    );

    // Run 3: both contracts' amounts change: versions, and `changed` alerts for both.
    server.reset().await;
    mount_portal(&server, 1_100_000.0, 1_500_000.0).await;
    run(dir.path());
    assert_eq!(version("900001"), 3);
    assert_eq!(version("contract-880002"), 2);
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT n.external_id FROM alerts a JOIN notices n ON n.id = a.notice_id
             WHERE a.kind = 'changed' AND a.status = 'sent' ORDER BY n.external_id, a.id"
        ),
        ["900001", "900001", "contract-880002"]
    );
    let files = smtp.wait_for(2, Duration::from_secs(10));
    assert_eq!(files.len(), 2);
    let newest = files
        .iter()
        .map(|f| parse_mime(f).part("text/plain").to_string())
        .find(|t| !t.contains("Поставщик: ИП"))
        .unwrap_or_default();
    if std::env::var_os("SHOW_MAIL").is_some() {
        eprintln!("{newest}");
    }
    assert!(
        newest.contains("1500000") || newest.contains("1 500 000"),
        "{newest}"
    );
    assert_eq!(
        crate::util::query_strings(
            &db,
            "SELECT CAST(aw.contract_amount AS INTEGER) || '' FROM awards aw
             JOIN notices n ON n.id = aw.notice_id ORDER BY n.external_id"
        ),
        ["1100000", "1500000"]
    );
}
