//! `lmdeck config show|init|path`

use crate::args::{ConfigCommand, GlobalArgs};
use crate::config::{env_var_name, DOCUMENTED_DEFAULTS};
use crate::services::Context;

pub fn run(global: &GlobalArgs, cmd: &ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Init => {
            print!("{DOCUMENTED_DEFAULTS}");
            Ok(())
        }
        ConfigCommand::Path => {
            let paths = crate::paths::Paths::resolve()?;
            let file = global.config.clone().unwrap_or_else(|| paths.config_file());
            println!("{}", file.display());
            Ok(())
        }
        ConfigCommand::Show(flag) => {
            let ctx = Context::new(&global.overrides())?;
            let table = toml::Table::try_from(ctx.config())?;
            let mut rows = Vec::new();
            for (section, values) in &table {
                let Some(values) = values.as_table() else {
                    continue;
                };
                for (key, value) in values {
                    let dotted = format!("{section}.{key}");
                    let source = ctx
                        .loaded
                        .sources
                        .get(&dotted)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "default".into());
                    rows.push((dotted, value.to_string(), source));
                }
            }
            if flag.json {
                let json: Vec<_> = rows
                    .iter()
                    .map(|(k, v, s)| serde_json::json!({"key": k, "value": v, "source": s, "env": env_var_name(k)}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&json)?);
                return Ok(());
            }
            println!(
                "# config file: {}{}",
                ctx.loaded.file.display(),
                if ctx.loaded.file.exists() {
                    ""
                } else {
                    " (absent)"
                }
            );
            let width = rows
                .iter()
                .map(|r| r.0.len() + r.1.len() + 3)
                .max()
                .unwrap_or(0);
            for (key, value, source) in rows {
                let assignment = format!("{key} = {value}");
                println!("{assignment:<width$}  # {source}");
            }
            Ok(())
        }
    }
}
