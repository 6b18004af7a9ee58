//! The webhook: one POST of the notice's JSON (Slack's incoming-webhook shape) through ureq,
//! over rustls with the public roots. Any 2xx answer is delivered; anything else is a warning
//! naming the status (the URL itself is a credential and is never shown).

use super::config::WebhookConfig;
use serde_json::Value;
use std::sync::Arc;

pub fn post(config: &WebhookConfig, body: &Value) -> Result<(), String> {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(config.timeout))
        .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let response = agent
        .post(&config.url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .map_err(|e| crate::events::secrets::scrub(&e.to_string()))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = response.into_body().read_to_string().unwrap_or_default();
    Err(crate::events::secrets::scrub(&format!(
        "the webhook answered HTTP {status}{}",
        if text.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", super::cut(&text, 200))
        }
    )))
}
