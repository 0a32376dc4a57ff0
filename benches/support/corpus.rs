//! Realistic generated procurement data for the benchmarks: announcements with lots and
//! technical assignments in Russian and Kazakh (goods, works, services, SMM), a few percent
//! of them carrying nurbot wording. Deterministic for a given seed.

#![allow(dead_code)]

use tenderscan::model::{
    Agency, AwardRecord, DocumentRef, LotRecord, NoticeRecord, PortalTime, Supplier,
};

fn subject_is_smm(subject: &str) -> bool {
    SMM.contains(&subject)
}

/// xorshift64: small, fast, deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

const REGIONS: &[&str] = &[
    "Абайская область",
    "Акмолинская область",
    "Актюбинская область",
    "Алматинская область",
    "Атырауская область",
    "Восточно-Казахстанская область",
    "Жамбылская область",
    "Жетысуская область",
    "Западно-Казахстанская область",
    "Карагандинская область",
    "Костанайская область",
    "Кызылординская область",
    "Мангистауская область",
    "Павлодарская область",
    "Северо-Казахстанская область",
    "Туркестанская область",
    "Улытауская область",
    "Астана",
    "Алматы",
    "Шымкент",
];

const AGENCY_KINDS: &[(&str, &str)] = &[
    ("ГУ «Аппарат акима", "әкімінің аппараты» ММ"),
    (
        "ГУ «Управление внутренней политики",
        "ішкі саясат басқармасы» ММ",
    ),
    ("ГУ «Отдел образования", "білім бөлімі» ММ"),
    (
        "ГУ «Управление здравоохранения",
        "денсаулық сақтау басқармасы» ММ",
    ),
    (
        "ГУ «Отдел жилищно-коммунального хозяйства",
        "тұрғын үй-коммуналдық шаруашылық бөлімі» ММ",
    ),
    (
        "КГУ «Центр по работе с молодежью",
        "жастармен жұмыс орталығы» КММ",
    ),
];

const TOWNS: &[&str] = &[
    "города Рудного",
    "города Костаная",
    "города Караганды",
    "города Павлодара",
    "Бурабайского района",
    "города Семей",
    "города Актобе",
    "города Тараза",
    "города Атырау",
    "Енбекшиказахского района",
    "города Кокшетау",
    "города Туркестана",
];

const GOODS: &[&str] = &[
    "Бумага офисная формата А4, плотность 80 г/м², белизна не менее 146% CIE, 500 листов в пачке",
    "Ботинки мужские зимние, верх из натуральной кожи, подошва ТЭП, размеры с 39 по 46",
    "Картридж для лазерного принтера, ресурс не менее 3000 страниц при 5% заполнении",
    "Бензин автомобильный марки АИ-92, соответствующий техническому регламенту",
    "Ноутбук с диагональю экрана не менее 15,6 дюйма, оперативная память не менее 16 ГБ",
    "Стол письменный из ЛДСП толщиной 22 мм, размеры 1200х600х750 мм",
    "Перчатки медицинские нитриловые нестерильные, размер M, упаковка 100 штук",
    "Уголь каменный марки Д, фракция 0-300 мм, зольность не более 20%",
];

const WORKS: &[&str] = &[
    "Текущий ремонт кровли административного здания с заменой водосточной системы",
    "Капитальный ремонт автомобильной дороги районного значения протяженностью 4,2 км",
    "Благоустройство дворовой территории с устройством детской игровой площадки",
    "Монтаж системы видеонаблюдения и охранно-пожарной сигнализации",
];

const SERVICES: &[&str] = &[
    "Услуги по уборке помещений и прилегающей территории ежедневно, кроме выходных дней",
    "Услуги по вывозу твердых бытовых отходов по графику, согласованному с Заказчиком",
    "Услуги по техническому обслуживанию лифтового оборудования",
    "Услуги по организации праздничного мероприятия ко Дню Независимости с фейерверком",
    "Услуги по обучению сотрудников работе в информационной системе электронного документооборота, создание учетных записей пользователей",
    "Услуги по сопровождению чат-бота для приема обращений граждан",
    "Услуги по охране объекта круглосуточно силами не менее двух постов",
];

const SMM: &[&str] = &[
    "Ведение официальных аккаунтов государственного органа в социальных сетях Instagram, Facebook, Telegram",
    "Подготовка и размещение не менее 20 публикаций в месяц на официальных страницах Заказчика",
    "Мониторинг публикаций в средствах массовой информации и социальных сетях с еженедельным отчетом",
    "Разработка имиджевых видеороликов о деятельности акимата и их размещение в социальных сетях",
    "Информационное сопровождение деятельности Заказчика в республиканских и региональных СМИ",
];

pub const NURBOT: &[&str] = &[
    "Создание четырех фейковых аккаунтов для комментирования публикаций Заказчика",
    "Исполнитель обеспечивает не менее 50 (пятидесяти) положительных комментариев в день от имени пользователей социальных сетей",
    "Отработка негативных комментариев в социальных сетях в течение двух часов с момента публикации",
    "Ведение не менее 30 виртуальных страниц для поддержки позитивного имиджа акимата",
    "Увеличение количества подписчиков официального аккаунта не менее чем на 1 000 подписчиков в месяц",
    "Күніне кемінде 40 оң пікір жазу және жалған аккаунттар арқылы жарияланымдарды қолдау",
    "Нейтрализация негатива и написание контркомментариев от имени жителей района",
];

const KK_LINES: &[&str] = &[
    "Өнім берушінің міндеттері: тауарды Тапсырыс берушінің мекенжайына жеткізу",
    "Қызмет көрсету мерзімі: шарт жасалған күннен бастап 2026 жылғы 31 желтоқсанға дейін",
    "Жұмыстарды орындау кезінде қауіпсіздік техникасы қағидаларын сақтау",
    "Тауардың сапасы Қазақстан Республикасының стандарттарына сәйкес болуы тиіс",
];

/// Kazakh lines that belong in SMM assignments only.
const KK_SMM: &[&str] = &[
    "Әлеуметтік желілердегі ресми парақшаларды жүргізу және ай сайынғы есеп беру",
    "Жарияланымдарды дайындау және Тапсырыс берушінің ресми парақшаларында орналастыру",
];

const BOILERPLATE: &[&str] = &[
    "Поставщик обязан обеспечить соответствие поставляемого товара требованиям настоящей технической спецификации.",
    "Срок поставки: в течение 15 (пятнадцати) календарных дней с даты заключения договора.",
    "Место поставки: согласно адресу, указанному в договоре о государственных закупках.",
    "Оплата производится по факту оказания услуг на основании акта выполненных работ.",
    "Исполнитель несет ответственность за качество оказываемых услуг в соответствии с законодательством Республики Казахстан.",
    "Гарантийный срок составляет не менее 12 месяцев с даты подписания акта приема-передачи.",
    "Все расходы, связанные с доставкой, погрузкой и разгрузкой, несет Поставщик.",
    "Заказчик вправе отказаться от приемки товара, не соответствующего требованиям.",
];

/// One technical assignment: a few KB of paragraphs around the subject; with `nurbot`,
/// one or two sentences ordering manufactured opinion.
pub fn assignment(rng: &mut Rng, subject: &str, nurbot: bool) -> String {
    let smm = SMM.contains(&subject);
    let mut paras = vec![
        "Техническая спецификация закупаемых товаров, работ, услуг".to_string(),
        format!("Наименование: {subject}."),
    ];
    let n = 6 + rng.below(14) as usize;
    for i in 0..n {
        if nurbot && i == n / 2 {
            paras.push(format!("{}.", rng.pick(NURBOT)));
            if rng.chance(0.3) {
                paras.push(format!("{}.", rng.pick(NURBOT)));
            }
        }
        match rng.below(10) {
            0 if smm => paras.push(format!("{}.", rng.pick(KK_SMM))),
            0 => paras.push(format!("{}.", rng.pick(KK_LINES))),
            1 => paras.push(format!(
                "{}. Количество: {} единиц.",
                rng.pick(GOODS),
                1 + rng.below(500)
            )),
            2 => paras.push(format!("{}.", rng.pick(SERVICES))),
            _ => paras.push(rng.pick(BOILERPLATE).to_string()),
        }
    }
    paras.join("\n")
}

/// One generated announcement with 1 to 3 lots, each with a specification document; the
/// texts are returned beside it, keyed by document URL (the store does not fetch them).
pub fn notice(rng: &mut Rng, i: u64, nurbot_share: f64) -> (NoticeRecord, Vec<(String, String)>) {
    let id = 10_000_000 + i;
    let kind = AGENCY_KINDS[rng.below(AGENCY_KINDS.len() as u64) as usize];
    let town = rng.pick(TOWNS);
    let region = rng.pick(REGIONS);
    let agency_no = rng.below(2_000);
    let agency = Agency {
        id: format!("{:012}", 990_000_000_000u64 + agency_no),
        scheme: None,
        name_ru: Some(format!("{} {town}»", kind.0)),
        name_kk: Some(format!("«{town} {}", kind.1)),
        name_en: None,
        region: Some(region.to_string()),
    };
    let nurbot = rng.chance(nurbot_share);
    let subject = match rng.below(10) {
        0..=3 => rng.pick(GOODS),
        4..=5 => rng.pick(WORKS),
        6..=7 => rng.pick(SERVICES),
        _ => rng.pick(SMM),
    };
    let subject = if nurbot { rng.pick(SMM) } else { subject };
    let title: String = subject.split(',').next().unwrap_or(subject).to_string();
    let year = 2019 + rng.below(8);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let published = chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
        .unwrap()
        .and_hms_opt(4, 0, 0)
        .unwrap()
        .and_utc();
    let lots_n = 1 + rng.below(3);
    let mut lots = Vec::new();
    let mut texts = Vec::new();
    let mut total = 0.0;
    for l in 0..lots_n {
        let amount = (50_000 + rng.below(20_000_000)) as f64;
        total += amount;
        let url = format!(
            "https://v3bl.goszakup.gov.kz/files/download_file/{}/",
            id * 10 + l
        );
        texts.push((url.clone(), assignment(rng, subject, nurbot && l == 0)));
        lots.push(LotRecord {
            external_id: format!("{}", id * 10 + l),
            number: Some(format!("{}-ЗЦП{}", id * 10 + l, l + 1)),
            title: Some(title.clone()),
            description: Some(title.clone()),
            amount: Some(amount),
            quantity: Some(1.0),
            status: Some("Опубликован".into()),
            documents: vec![DocumentRef {
                url,
                file_name: Some(format!("techspec_{}.docx", id * 10 + l)),
                title: Some("Техническая спецификация".into()),
                is_spec: true,
                media_type: None,
                contract: None,
            }],
        });
    }
    // Most procurements end in a contract: one award per lot, to one of 20 000 suppliers,
    // SMM work to one of 300 media firms (so the suppliers report has repeat winners).
    let mut awards = Vec::new();
    if rng.chance(0.6) {
        for lot in &lots {
            let (no, name) = if subject_is_smm(subject) {
                let k = rng.below(300);
                (k, format!("ТОО «Медиа Групп {k}»"))
            } else {
                let k = 300 + rng.below(19_700);
                (k, format!("ТОО «Поставщик {k}»"))
            };
            let amount = lot.amount.unwrap_or(0.0) * (0.8 + rng.below(200) as f64 / 1000.0);
            let signed = published + chrono::Duration::days(20 + rng.below(40) as i64);
            awards.push(AwardRecord {
                external_id: format!("{}-aw", lot.external_id),
                status: Some("active".into()),
                date: None,
                amount: Some(amount.round()),
                currency: Some("KZT".into()),
                suppliers: vec![Supplier {
                    id: format!("{:012}", 100_000_000_000u64 + no),
                    scheme: "KZ-BIN".into(),
                    name: Some(name),
                }],
                lots: vec![lot.external_id.clone()],
                contract_id: Some(format!("{}-c", lot.external_id)),
                contract_status: Some("active".into()),
                contract_amount: Some(amount.round()),
                contract_signed: Some(PortalTime {
                    utc: Some(signed),
                    original: signed.format("%Y-%m-%d %H:%M:%S").to_string(),
                }),
            });
        }
    }
    let rec = NoticeRecord {
        external_id: id.to_string(),
        number: Some(format!("{id}-1")),
        title: title.clone(),
        title_kk: None,
        description: None,
        agency: Some(agency),
        amount: Some(total),
        currency: Some("KZT".into()),
        status: Some("Опубликовано (прием заявок)".into()),
        status_code: Some("220".into()),
        method: Some("Запрос ценовых предложений".into()),
        published: Some(PortalTime {
            utc: Some(published),
            original: published.format("%Y-%m-%d %H:%M:%S").to_string(),
        }),
        deadline: None,
        url: Some(format!("https://goszakup.gov.kz/ru/announce/index/{id}")),
        region: Some(region.to_string()),
        lots,
        documents: Vec::new(),
        awards,
        payloads: Vec::new(),
        attach: false,
        // goszakup refSubjectTypeId: 1 goods, 2 works, 3 services.
        subject_type: Some(
            if GOODS.contains(&subject) {
                "1"
            } else if WORKS.contains(&subject) {
                "2"
            } else {
                "3"
            }
            .to_string(),
        ),
        ..Default::default()
    };
    (rec, texts)
}
