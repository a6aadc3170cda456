//! The 2x2 design: two models (base and fine-tuned) x RAG off and on, on one set.

use super::input::RunInput;
use super::report::{Effect, Factorial};
use super::stats::{self, Cells, Interval};
use super::table::Table;

/// Which input is which cell, and why the fine-tuned model is the one it is.
pub struct Design {
    /// Indices into the inputs: base off, base on, tuned off, tuned on.
    pub cells: [usize; 4],
    pub tuned: String,
    pub base: String,
    /// The tuned model's lineage names the base model (else: the second model by run order).
    pub by_lineage: bool,
}

/// The design, exactly when the runs hold two models each with RAG off and on, all on one
/// set (the first run of each combination is used).
pub fn detect(inputs: &[RunInput]) -> Option<Design> {
    let set = inputs.first()?.run.set_id;
    if inputs.iter().any(|r| r.run.set_id != set) {
        return None;
    }
    let mut models: Vec<&str> = Vec::new();
    for r in inputs {
        if !models.contains(&r.run.config.model.as_str()) {
            models.push(&r.run.config.model);
        }
    }
    let [first, second] = models[..] else {
        return None;
    };
    let find = |model: &str, rag: bool| {
        inputs
            .iter()
            .position(|r| r.run.config.model == model && r.run.config.rag == rag)
    };
    let names = |model: &str, base: &str| {
        inputs.iter().any(|r| {
            r.run.config.model == model
                && r.lineage.as_ref().and_then(|l| l.base_model.as_deref()) == Some(base)
        })
    };
    let (base, tuned, by_lineage) = if names(first, second) && !names(second, first) {
        (second, first, true)
    } else {
        (first, second, names(second, first))
    };
    Some(Design {
        cells: [
            find(base, false)?,
            find(base, true)?,
            find(tuned, false)?,
            find(tuned, true)?,
        ],
        tuned: tuned.to_string(),
        base: base.to_string(),
        by_lineage,
    })
}

fn effect(i: Interval, per_item: &[f64]) -> Effect {
    Effect {
        estimate: i.estimate,
        low: i.low,
        high: i.high,
        detectable: stats::detectable(per_item),
    }
}

/// The effects on `metric` over the items where all four runs have it; None without such
/// items.
pub fn estimate(
    design: &Design,
    inputs: &[RunInput],
    table: &Table,
    metric: &str,
) -> Option<Factorial> {
    let columns: Vec<Vec<Option<f64>>> = design
        .cells
        .iter()
        .map(|&c| table.values(c, metric))
        .collect();
    let mut v: [Vec<f64>; 4] = Default::default();
    let rows = columns[0]
        .iter()
        .zip(&columns[1])
        .zip(&columns[2])
        .zip(&columns[3]);
    for (((&a, &b), &c), &d) in rows {
        if let [Some(a), Some(b), Some(c), Some(d)] = [a, b, c, d] {
            for (col, x) in v.iter_mut().zip([a, b, c, d]) {
                col.push(x);
            }
        }
    }
    if v[0].is_empty() {
        return None;
    }
    let cells = Cells {
        base_off: &v[0],
        base_on: &v[1],
        tuned_off: &v[2],
        tuned_on: &v[3],
    };
    let draws = stats::draws(v[0].len(), table.resamples, table.seed);
    let [rag, finetune, interaction] = stats::factorial(&cells, &draws);
    let per = stats::per_item_effects(&cells);
    let id = |k: usize| inputs[design.cells[k]].run.id;
    Some(Factorial {
        metric: metric.to_string(),
        base_off: id(0),
        base_on: id(1),
        tuned_off: id(2),
        tuned_on: id(3),
        rag: effect(rag, &per[0]),
        finetune: effect(finetune, &per[1]),
        interaction: effect(interaction, &per[2]),
    })
}
