//! `lmdeck doctor`: what lmdeck sees on this machine.

use serde_json::json;
use std::process::Command;

use crate::embed::ModelManifest;
use crate::onnx::discover;
use crate::services::Context;
use crate::store::collections;
use crate::util::human_bytes;

pub fn run(ctx: &Context, as_json: bool) -> anyhow::Result<()> {
    let mut report = serde_json::Map::new();
    report.insert("lmdeck".into(), json!(env!("CARGO_PKG_VERSION")));
    report.insert(
        "config_file".into(),
        json!(ctx.loaded.file.display().to_string()),
    );
    report.insert(
        "data_dir".into(),
        json!(ctx.paths.data_dir.display().to_string()),
    );
    // The default chat model's GGUF (scripts/bench-generate.sh gives it to llama.cpp).
    report.insert(
        "default_gguf".into(),
        json!(crate::setup::convert::default_gguf(&ctx.paths)
            .display()
            .to_string()),
    );

    let runtime = match discover::find_library(&ctx.loaded, &ctx.paths) {
        Ok(choice) => match crate::onnx::Runtime::load(choice.clone(), ctx.device()?) {
            Ok(rt) => {
                let effective = ctx
                    .embedder()
                    .map(|e| e.provider().to_string())
                    .unwrap_or_else(|e| format!("unavailable: {e:#}"));
                json!({
                    "library": rt.library.path.display().to_string(),
                    "found_via": rt.library.source.to_string(),
                    "version": rt.version,
                    "requested_device": rt.device.to_string(),
                    "available_providers": rt.available_providers(),
                    "effective_provider": effective,
                })
            }
            Err(e) => json!({"library": choice.path.display().to_string(), "error": e.to_string()}),
        },
        Err(e) => json!({"error": e.to_string()}),
    };
    report.insert("onnx_runtime".into(), runtime);
    report.insert("gpus".into(), json!(gpus()));

    let mut models = Vec::new();
    if let Ok(entries) = std::fs::read_dir(ctx.paths.models_dir()) {
        for entry in entries.flatten() {
            let dir = entry.path();
            let Ok(manifest) = ModelManifest::load(&dir) else {
                continue;
            };
            let verified = match manifest.verify(&dir) {
                Ok(()) => "ok".to_string(),
                Err(e) => e.to_string(),
            };
            models.push(json!({
                "name": manifest.name, "dim": manifest.dim, "pooling": manifest.pooling,
                "max_tokens": manifest.max_tokens, "model_sha256": manifest.model_sha256,
                "path": dir.display().to_string(), "verified": verified,
                "configured": dir == ctx.model_dir(),
                "fused_graph": match crate::embed::fused::current(&dir, &manifest) {
                    Some(path) => path.display().to_string(),
                    None => "none (`lmdeck setup` writes it for the default model)".to_string(),
                },
            }));
        }
    }
    report.insert("models".into(), json!(models));

    let db = ctx.db_path();
    let database = match ctx.open_store() {
        Ok(store) => {
            let list = collections::list(store.conn())?;
            json!({
                "path": db.display().to_string(),
                "size": human_bytes(store.file_size()),
                "collections": list.iter().map(|s| json!({
                    "name": s.collection.name, "documents": s.documents, "chunks": s.chunks,
                    "model": s.collection.model.as_ref().map(|m| &m.name),
                })).collect::<Vec<_>>(),
            })
        }
        Err(e) => json!({"path": db.display().to_string(), "error": format!("{e:#}")}),
    };
    report.insert("database".into(), database);

    let report = serde_json::Value::Object(report);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_tree(&report, 0);
    }
    Ok(())
}

fn gpus() -> Vec<String> {
    Command::new("nvidia-smi")
        .args([
            "--query-gpu=index,name,memory.total,driver_version",
            "--format=csv,noheader",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn print_tree(value: &serde_json::Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                        println!("{pad}{k}:");
                        print_tree(v, indent + 1);
                    }
                    _ => println!("{pad}{k}: {}", scalar(v)),
                }
            }
        }
        serde_json::Value::Array(items) if items.is_empty() => println!("{pad}(none)"),
        serde_json::Value::Array(items) => {
            for item in items {
                match item {
                    serde_json::Value::Object(_) => {
                        println!("{pad}-");
                        print_tree(item, indent + 1);
                    }
                    _ => println!("{pad}- {}", scalar(item)),
                }
            }
        }
        other => println!("{pad}{}", scalar(other)),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => crate::util::safe::one_line(s).into_owned(),
        other => other.to_string(),
    }
}
