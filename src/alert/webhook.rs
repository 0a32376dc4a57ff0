//! The `webhook` channel: each digest is POSTed as JSON to the recipient's `url`, with an
//! `X-Tenderscan-Signature: sha256=<hex>` header, the HMAC-SHA256 (RFC 2104) of the body
//! under the secret that `[webhook] secret_env` names.
//!
//! What this module must never do: follow a redirect (only the configured URL is ever
//! requested), send a body other than the stored one (a resend is byte for byte, so its
//! `id` lets the receiver drop a copy), put the secret in a message or log, or count
//! anything but a 2xx answer as delivered.

use super::transport::{Outgoing, Transport, chain};
use sha2::{Digest, Sha256};

/// HMAC-SHA256 of `body` under `key` (RFC 2104, block size 64).
pub(crate) fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The header value for `body`: `sha256=<lowercase hex>`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret, body)))
}

/// Webhook deliveries: one HTTP client, one secret.
pub(crate) struct Webhook {
    client: reqwest::Client,
    secret: String,
}

impl Webhook {
    pub(crate) fn new(secret: String, timeout_secs: u64) -> Result<Webhook, String> {
        Ok(Webhook {
            client: super::telegram::http_client(timeout_secs)?,
            secret,
        })
    }
}

impl Transport for Webhook {
    /// Nothing can be checked without sending: each receiver answers its own POST.
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        let url = msg
            .recipient
            .strip_prefix("webhook:")
            .unwrap_or(msg.recipient);
        let resp = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header(
                "X-Tenderscan-Signature",
                signature(self.secret.as_bytes(), msg.raw),
            )
            .body(msg.raw.to_vec())
            .send()
            .await
            .map_err(|e| format!("webhook {url}: {}", chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = super::telegram::read_capped(resp).await;
        Err(format!(
            "webhook {url}: answered {status}{}",
            if body.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", super::compose::header_text(&body, 200))
            }
        ))
    }
    async fn shutdown(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
