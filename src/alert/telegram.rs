//! The `telegram` channel: each stored message (a JSON `sendMessage` body, HTML parse
//! mode) is POSTed to `{[telegram] api_url}/bot{token}/sendMessage`. A `429` is waited out
//! as its `retry_after` says (up to [`MAX_RETRY_AFTER_SECS`], [`MAX_429_TRIES`] times) and
//! the same body sent again; a blocked bot or a wrong chat is an error that says what the
//! admin must do.
//!
//! What this module must never do: put the bot token in an error, a log line or the
//! store (reqwest errors are stripped of their URL), follow a redirect (only the
//! configured API host is ever requested), count anything but `"ok": true` as sent, or
//! send a body other than the stored one.

use super::transport::{Outgoing, Transport, chain};
use std::time::Duration;

/// Longest `retry_after` waited for within a run; a longer one fails this send (the
/// alerts are sent by the next run).
pub(crate) const MAX_RETRY_AFTER_SECS: u64 = 60;
/// Times one message is tried when the API keeps answering 429.
pub(crate) const MAX_429_TRIES: usize = 3;
/// Most of an answer read (the API's answers are small).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// An HTTP client for the alert channels: no redirects, a time limit per request.
pub(crate) fn http_client(timeout_secs: u64) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(timeout_secs.max(1)))
        .user_agent(concat!("tenderscan/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", chain(&e)))
}

/// At most [`MAX_ANSWER_BYTES`] of an answer, as text (empty if it cannot be read).
pub(crate) async fn read_capped(mut resp: reqwest::Response) -> String {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = MAX_ANSWER_BYTES.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Bot API behind `[telegram] api_url`, with the token from `[telegram] token_env`.
pub(crate) struct Telegram {
    client: reqwest::Client,
    api_url: String,
    token: String,
}

/// What the Bot API answered, as far as it matters here.
#[derive(serde::Deserialize)]
struct Answer {
    ok: bool,
    description: Option<String>,
    error_code: Option<u16>,
    parameters: Option<Parameters>,
}

#[derive(serde::Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

impl Telegram {
    pub(crate) fn new(api_url: &str, token: String, timeout_secs: u64) -> Result<Telegram, String> {
        Ok(Telegram {
            client: http_client(timeout_secs)?,
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// POST `body` to `method`; (HTTP status, parsed answer or the raw text).
    async fn call(
        &self,
        method: &str,
        body: &[u8],
    ) -> Result<(u16, Result<Answer, String>), String> {
        let url = format!("{}/bot{}/{method}", self.api_url, self.token);
        let resp = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "Telegram Bot API {}: {}",
                    self.api_url,
                    chain(&e.without_url())
                )
            })?;
        let status = resp.status().as_u16();
        let text = read_capped(resp).await;
        Ok((
            status,
            serde_json::from_str::<Answer>(&text).map_err(|_| text),
        ))
    }

    fn error(&self, chat: &str, status: u16, answer: &Result<Answer, String>) -> String {
        let desc = match answer {
            Ok(a) => a.description.clone().unwrap_or_default(),
            Err(text) => text.clone(),
        };
        let desc = super::compose::header_text(&desc, 200).replace(&self.token, "<token>");
        let code = answer
            .as_ref()
            .ok()
            .and_then(|a| a.error_code)
            .unwrap_or(status);
        let lower = desc.to_lowercase();
        let hint = if code == 401 {
            "the bot token was refused: check the variable [telegram] token_env names"
        } else if code == 403 {
            "the bot cannot post there (blocked by the user, removed from the group or channel, or not an admin of the channel): add it back or remove this recipient"
        } else if lower.contains("chat not found") {
            "no such chat for this bot: check chat_id, and that the bot was added to the group or channel (a person must have started it)"
        } else {
            "the message was not sent"
        };
        format!(
            "Telegram chat {chat}: {hint} ({code}{}{desc})",
            if desc.is_empty() { "" } else { ": " }
        )
    }
}

impl Transport for Telegram {
    /// `getMe`: the API answers and knows the token.
    async fn check(&self) -> Result<(), String> {
        let (status, answer) = self.call("getMe", b"{}").await?;
        match &answer {
            Ok(a) if a.ok => Ok(()),
            _ => Err(format!(
                "Telegram Bot API {}: {}",
                self.api_url,
                self.error("(check)", status, &answer)
                    .trim_start_matches("Telegram chat (check): ")
            )),
        }
    }

    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        let chat = msg
            .recipient
            .strip_prefix("telegram:")
            .unwrap_or(msg.recipient);
        for attempt in 1..=MAX_429_TRIES {
            let (status, answer) = self.call("sendMessage", msg.raw).await?;
            match &answer {
                Ok(a) if a.ok && (200..300).contains(&status) => return Ok(()),
                Ok(a) if status == 429 || a.error_code == Some(429) => {
                    let wait = a
                        .parameters
                        .as_ref()
                        .and_then(|p| p.retry_after)
                        .unwrap_or(1);
                    if wait > MAX_RETRY_AFTER_SECS || attempt == MAX_429_TRIES {
                        return Err(format!(
                            "Telegram chat {chat}: rate limited (429, retry after {wait} s): sent by a later run"
                        ));
                    }
                    tracing::info!("Telegram asks to wait {wait} s before sending to {chat}");
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                _ => return Err(self.error(chat, status, &answer)),
            }
        }
        Err(format!("Telegram chat {chat}: rate limited"))
    }

    async fn shutdown(&self) {}
}
