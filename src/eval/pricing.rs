//! What answers cost, from `<config dir>/pricing.toml`:
//!
//! ```toml
//! currency = "USD"          # shown with every cost (default USD)
//! local_per_hour = 0.40     # any local model: what an hour of this host costs
//! [models."gpt-4o-mini"]    # an endpoint or model by name: per million tokens ...
//! input_per_mtok = 0.15
//! output_per_mtok = 0.60
//! [models."smollm2-135m-instruct"]
//! per_hour = 0.40           # ... and/or per hour of wall time
//! ```
//!
//! An item costs `prompt_tokens * input_per_mtok / 1e6 + answer_tokens * output_per_mtok / 1e6
//! + wall_ms / 3.6e6 * per_hour`. A model without a price has no cost (never a cost of 0).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message} (keys: currency, local_per_hour, [models.\"NAME\"] with input_per_mtok, output_per_mtok, per_hour)")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A model's price, with the currency it is in.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(default)]
    pub input_per_mtok: Option<f64>,
    #[serde(default)]
    pub output_per_mtok: Option<f64>,
    #[serde(default)]
    pub per_hour: Option<f64>,
    #[serde(skip_deserializing)]
    pub currency: String,
}

impl Price {
    pub fn cost(&self, prompt_tokens: f64, answer_tokens: f64, wall_ms: f64) -> f64 {
        self.input_per_mtok.unwrap_or(0.0) * prompt_tokens / 1e6
            + self.output_per_mtok.unwrap_or(0.0) * answer_tokens / 1e6
            + self.per_hour.unwrap_or(0.0) * wall_ms / 3.6e6
    }

    fn values(&self) -> [(&'static str, Option<f64>); 3] {
        [
            ("input_per_mtok", self.input_per_mtok),
            ("output_per_mtok", self.output_per_mtok),
            ("per_hour", self.per_hour),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    #[serde(default = "usd")]
    pub currency: String,
    #[serde(default)]
    pub local_per_hour: Option<f64>,
    #[serde(default)]
    pub models: BTreeMap<String, Price>,
}

fn usd() -> String {
    "USD".into()
}

impl Prices {
    /// The price of `model`: its own entry, else `local_per_hour` for a local model.
    pub fn of(&self, model: &str, local: bool) -> Option<Price> {
        let own = self.models.get(model).cloned();
        let fallback = || {
            let per_hour = self.local_per_hour.filter(|_| local)?;
            Some(Price {
                per_hour: Some(per_hour),
                ..Price::default()
            })
        };
        own.or_else(fallback).map(|p| Price {
            currency: self.currency.clone(),
            ..p
        })
    }
}

/// Reads `path`; None when there is no such file (no prices configured).
pub fn load(path: &Path) -> Result<Option<Prices>, PricingError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PricingError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(&text)
        .map(Some)
        .map_err(|(line, message)| PricingError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        })
}

fn parse(text: &str) -> Result<Prices, (usize, String)> {
    let prices: Prices = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start).min(text.len());
        (
            text[..offset].matches('\n').count() + 1,
            e.message().to_string(),
        )
    })?;
    // A negative or non-finite price is a typo, not a discount.
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(needle))
            .map_or(1, |i| i + 1)
    };
    let bad = |v: f64| !v.is_finite() || v < 0.0;
    if let Some(v) = prices.local_per_hour.filter(|v| bad(*v)) {
        return Err((
            line_of("local_per_hour"),
            format!("local_per_hour = {v}: a price is a number of 0 or more"),
        ));
    }
    for (model, price) in &prices.models {
        for (key, value) in price.values() {
            if let Some(v) = value.filter(|v| bad(*v)) {
                return Err((
                    line_of(key),
                    format!("models.\"{model}\".{key} = {v}: a price is a number of 0 or more"),
                ));
            }
        }
    }
    Ok(prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_costs_its_tokens_and_its_wall_time() {
        let prices = parse(
            "currency = \"EUR\"\nlocal_per_hour = 3.6\n[models.\"api\"]\ninput_per_mtok = 1.0\noutput_per_mtok = 4.0\n",
        )
        .unwrap();
        let api = prices.of("api", false).unwrap();
        assert_eq!(api.currency, "EUR");
        // 2,000 prompt tokens at 1.0 and 500 answer tokens at 4.0 per million.
        assert!((api.cost(2000.0, 500.0, 999.0) - 0.004).abs() < 1e-12);
        // A local model without an entry: one second at 3.6 an hour.
        let local = prices.of("smol", true).unwrap();
        assert!((local.cost(9.0, 9.0, 1000.0) - 0.001).abs() < 1e-12);
        assert_eq!(prices.of("other-endpoint", false), None);
    }

    #[test]
    fn mistakes_name_their_line() {
        let e = parse("currency = \"USD\"\n[models.x]\ninput_per_mtok = -1\n").unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("input_per_mtok"), "{}", e.1);
        let e = parse("[models.x]\nper_hr = 2\n").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("per_hr"), "{}", e.1);
        assert_eq!(load(Path::new("/nonexistent/pricing.toml")).unwrap(), None);
    }
}
