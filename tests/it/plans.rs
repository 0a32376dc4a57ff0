//! goszakup plan points (the `Plans` root, `plans = true`): through the real binary, against
//! a goszakup-shaped API on 127.0.0.1 (fixtures in the shapes of shared/formats/goszakup.md,
//! "Checked against public client code"), a real SQLite file and the real SMTP test server.
//! A plan point the rules flag is mailed in the digest's own "planned" section; when its
//! announcement arrives (its lot's `Plans` names the plan point), the two are linked.

use crate::contracts::run;
use crate::pipeline::{NURBOT_SPEC, trd_buy};
use crate::smtp::{SmtpServer, parse_mime};
use crate::util::{count, docx, tenderscan};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const PLAN_ID: i64 = 77_000_123;

/// A GraphQL page of `root` (one page, the last).
pub(crate) fn root_page(root: &str, items: Vec<Value>) -> ResponseTemplate {
    let last = items.last().and_then(|i| i["id"].as_i64());
    let body = json!({
        "data": {root: items},
        "extensions": {"pageInfo": {"limitPage": 50, "totalCount": 1, "hasNextPage": false, "lastId": last}}
    });
    ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), "application/json")
}

/// One plan point in the GraphQL v3 shape of the `Plans` root.
pub(crate) fn plan_point(id: i64, name: &str, desc: &str, code: &str) -> Value {
    json!({
        "id": id,
        "subjectBiin": "990240001234",
        "subjectNameRu": "ГУ «Аппарат акима города Рудного»",
        "subjectNameKz": "«Рудный қаласы әкімінің аппараты» ММ",
        "nameRu": name,
        "nameKz": null,
        "descRu": desc,
        "descKz": null,
        "extraDescRu": "Сопровождение официальных страниц акимата",
        "extraDescKz": null,
        "refEnstruCode": code,
        "refTradeMethodsId": 3,
        "refSubjectTypeId": 3,
        "count": 1,
        "price": 1300000,
        "amount": 1300000,
        "plnPointYear": 2026,
        "refPlnPointStatusId": 2,
        "timestamp": "2026-11-26 09:12:44"
    })
}

async fn mount(server: &MockServer, announcements: Vec<Value>) {
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(body_string_contains("TrdBuy("))
        .respond_with(root_page("TrdBuy", announcements))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(body_string_contains("Plans("))
        .respond_with(root_page(
            "Plans",
            vec![
                plan_point(
                    PLAN_ID,
                    "Услуги по продвижению в социальных сетях",
                    "Создание и ведение четырех фейковых аккаунтов для комментирования публикаций акимата",
                    "731112.000.000000",
                ),
                plan_point(
                    PLAN_ID + 1,
                    "Бумага офисная",
                    "Бумага А4, 500 листов",
                    "171219.100.000001",
                ),
            ],
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"total": 0, "limit": 50, "next_page": "", "items": []}"#,
            "application/json",
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/download_file/5001/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(docx(NURBOT_SPEC), DOCX))
        .mount(server)
        .await;
}

fn write_config(dir: &Path, url: &str, smtp_port: u16) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\ncontracts = false\nplans = true\n\n\
         [mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nsecurity = \"none\"\nfrom = \"tenderscan <alerts@newsroom.example>\"\ntimeout_secs = 10\n\n\
         [[recipients]]\nemail = \"desk@newsroom.example\"\nmin_severity = \"medium\"\nlanguage = \"ru\"\n\n\
         [[recipients]]\nemail = \"intl@newsroom.example\"\nmin_severity = \"medium\"\nlanguage = \"en\"\n"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// The text parts of the mails so far, for the recipient `to`.
fn texts_to(smtp: &SmtpServer, n: usize, to: &str) -> Vec<String> {
    smtp.wait_for(n, Duration::from_secs(10))
        .iter()
        .map(|f| parse_mime(f))
        .filter(|m| m.header("To").is_some_and(|h| h.contains(to)))
        .map(|m| m.part("text/plain").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flagged_plan_point_is_mailed_as_planned_and_linked_when_its_announcement_arrives() {
    let server = MockServer::start().await;
    mount(&server, Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(&dir.path().join("maildir"));
    write_config(dir.path(), &server.uri(), smtp.port);
    let db = dir.path().join("t.db");

    // Run 1: only the plan points are out. They are notices of kind plan.
    run(dir.path());
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM notices WHERE kind = 'plan' AND external_id IN ('plan-{PLAN_ID}', 'plan-{}')",
                PLAN_ID + 1
            )
        ),
        2
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM notice_codes c JOIN notices n ON n.id = c.notice_id
                 WHERE n.external_id = 'plan-{PLAN_ID}' AND c.code = '731112.000.000000'"
            )
        ),
        1
    );
    // The flagged one is in the planned section, in each recipient's language.
    let ru = texts_to(&smtp, 2, "desk@").join("\n");
    assert!(ru.contains("ЗАПЛАНИРОВАНО"), "{ru}");
    assert!(
        ru.contains("Услуги по продвижению в социальных сетях"),
        "{ru}"
    );
    assert!(!ru.contains("Бумага офисная"), "{ru}");
    assert!(
        !ru.contains("ВЫСОКАЯ ВАЖНОСТЬ"),
        "a plan is not in a severity section: {ru}"
    );
    let en = texts_to(&smtp, 2, "intl@").join("\n");
    assert!(en.contains("PLANNED"), "{en}");
    assert!(!en.contains("Followed by"), "nothing follows it yet: {en}");

    // Run 2: the announcement arrives; its lot names the plan point.
    let mut anno = trd_buy(
        &server.uri(),
        900001,
        "Информационные услуги",
        1_300_000.0,
        5001,
    );
    anno["Lots"][0]["Plans"] = json!([{"id": PLAN_ID, "refEnstruCode": "731112.000.000000"}]);
    server.reset().await;
    mount(&server, vec![anno]).await;
    run(dir.path());
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM plan_links a JOIN plan_links b ON b.plan_point = a.plan_point
                 JOIN notices na ON na.id = a.notice_id JOIN notices nb ON nb.id = b.notice_id
                 WHERE na.external_id = '900001' AND nb.external_id = 'plan-{PLAN_ID}'
                   AND a.plan_point = '{PLAN_ID}'"
            )
        ),
        1
    );
    let ru = texts_to(&smtp, 4, "desk@");
    let second = ru
        .iter()
        .find(|t| t.contains("900001-1"))
        .unwrap_or_else(|| panic!("no digest of the announcement: {ru:?}"));
    assert!(
        second.contains(&format!("Пункт плана: {PLAN_ID} (2026)")),
        "{second}"
    );
    // The plan point's page in `show` names what followed it.
    let out = tenderscan(dir.path())
        .args(["show", &format!("plan-{PLAN_ID}"), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "plan", "{v}");
    assert_eq!(v["plan_links"][0]["number"], "900001-1", "{v}");
}
