//! Exchange rates from the config's `[currency]` table, kept in `currency_rates` for the
//! `notices_in_base` view (migration 006).

use super::{Store, StoreError, now};
use rusqlite::params;

impl Store {
    /// Replaces the stored rates with the config's: `rates` are units of `base` per one unit of
    /// each currency. No base (no `[currency]` table) clears them.
    pub fn set_currency_rates(
        &mut self,
        base: Option<&str>,
        rates: &std::collections::BTreeMap<String, f64>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM currency_rates", [])?;
        if let Some(base) = base {
            let base = base.to_ascii_uppercase();
            let at = now();
            // The base itself, so the view knows the base even where no other rate is set.
            tx.execute(
                "INSERT INTO currency_rates (currency, base, rate, updated_at) VALUES (?1, ?1, 1.0, ?2)",
                params![base, at],
            )?;
            for (cur, rate) in rates {
                let cur = cur.to_ascii_uppercase();
                if cur == base {
                    continue;
                }
                tx.execute(
                    "INSERT INTO currency_rates (currency, base, rate, updated_at) VALUES (?1, ?2, ?3, ?4)",
                    params![cur, base, rate, at],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NoticeRecord;

    #[test]
    fn amounts_in_the_base_currency() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let src = store.ensure_source("s", "ocds", "https://x").unwrap();
        let rec = |id: &str, amount: Option<f64>, cur: &str| NoticeRecord {
            external_id: id.into(),
            title: id.into(),
            amount,
            currency: Some(cur.into()),
            ..NoticeRecord::default()
        };
        store
            .store_page(
                src,
                &[
                    rec("ua", Some(1000.0), "UAH"),
                    rec("kz", Some(500.0), "KZT"),
                    rec("eu", Some(10.0), "eur"),
                    rec("none", None, "UAH"),
                ],
                None,
            )
            .unwrap();
        let rows = |store: &Store| -> Vec<(String, Option<f64>, Option<String>)> {
            let mut st = store
                .conn()
                .prepare("SELECT title, amount_base, base FROM notices_in_base ORDER BY title")
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        // No [currency] table: nothing converted.
        assert!(rows(&store).iter().all(|r| r.1.is_none()));
        let rates = [("UAH".to_string(), 12.1), ("EUR".to_string(), 560.0)].into();
        store.set_currency_rates(Some("KZT"), &rates).unwrap();
        let got = rows(&store);
        assert_eq!(got[0], ("eu".into(), Some(5600.0), Some("KZT".into())));
        assert_eq!(got[1], ("kz".into(), Some(500.0), Some("KZT".into())));
        assert_eq!(got[2].1, None);
        assert_eq!(got[3], ("ua".into(), Some(12100.0), Some("KZT".into())));
        // A rate removed from the config is gone from the database at the next run.
        store
            .set_currency_rates(Some("KZT"), &[("UAH".to_string(), 12.5)].into())
            .unwrap();
        let got = rows(&store);
        assert_eq!(got[0].1, None);
        assert_eq!(got[3].1, Some(12500.0));
    }
}
