//! Judge metrics: a second model (an endpoint or a local model) grades each answer against
//! the item's gold answers, `runs` times per item with seeds `seed, seed+1, ...`, so its
//! spread shows how much one grading can be trusted. A reply that does not parse is counted
//! as a parse failure, never turned into a number; an item where no grading parsed carries
//! `judge_failed = 1` and no judge score.
//!
//! Metrics stored per item (when the run has a judge):
//! - `judge_correct`: 1 when most parsed gradings say correct, 0 when most say incorrect
//!   (absent on a tie);
//! - `judge_score`: the mean parsed score, 1-5 mapped to 0-1;
//! - `judge_spread`: the standard deviation of the parsed scores (0-1 scale), from 2 gradings;
//! - `judge_parse_failures`: the share of gradings that did not parse; `judge_failed`: 1 when
//!   none did;
//! - `judge_agrees`: 1 when `judge_correct` equals the item's own label (`label`), else 0.

use std::collections::BTreeMap;
use std::time::Instant;

use super::set::Item;
use crate::generate::{
    Cancel, ChatMessage, GenerateError, GenerateEvent, GenerateRequest, Generator, SamplingParams,
};

/// A parsed grading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub correct: bool,
    /// 1 (wrong) to 5 (fully correct and complete).
    pub score: u8,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Gradings per item.
    pub runs: usize,
    pub temperature: f64,
    /// The first grading's seed; grading i uses seed + i.
    pub seed: u64,
    pub max_tokens: usize,
}

/// An item's gradings and what they cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grading {
    pub replies: Vec<String>,
    pub verdicts: Vec<Option<Verdict>>,
    pub prompt_tokens: usize,
    pub answer_tokens: usize,
    pub ms: f64,
}

const INSTRUCTIONS: &str = "You grade an answer to a question against the reference answer. \
The answer is correct when it states what the reference states (wording may differ; extra \
detail is fine when it does not contradict the reference). When the reference says the \
question has no answer, the answer is correct only if it says it cannot answer.\n\
Reply with exactly two lines and nothing else:\n\
VERDICT: correct or incorrect\n\
SCORE: a whole number from 1 (wrong) to 5 (fully correct and complete)";

/// The grading request for one answer.
pub fn messages(item: &Item, answer: &str) -> Vec<ChatMessage> {
    let reference = if item.unanswerable {
        "(none: the documents do not answer this question; a correct answer says so)".to_string()
    } else {
        item.answers
            .iter()
            .map(|a| format!("- {a}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    vec![
        ChatMessage::new("system", INSTRUCTIONS),
        ChatMessage::new(
            "user",
            format!(
                "Question: {}\n\nReference answer:\n{reference}\n\nAnswer to grade:\n{}\n\nGrade it.",
                item.question,
                answer.trim()
            ),
        ),
    ]
}

/// Reads `VERDICT: correct|incorrect` and `SCORE: 1-5` (either alone is enough: a score of 4
/// or 5 is correct, and a verdict alone scores 5 or 1). Anything else is a parse failure.
pub fn parse(reply: &str) -> Option<Verdict> {
    let mut correct = None;
    let mut score = None;
    for line in reply.lines() {
        let lower = line
            .trim()
            .trim_matches(['*', '#', '-', ' '])
            .to_lowercase();
        if let Some(rest) = after_label(&lower, "verdict") {
            correct = correct.or_else(|| verdict_word(rest));
        } else if let Some(rest) = after_label(&lower, "score") {
            score = score.or_else(|| score_number(rest));
        }
    }
    match (correct, score) {
        (Some(c), Some(s)) => Some(Verdict {
            correct: c,
            score: s,
        }),
        (Some(c), None) => Some(Verdict {
            correct: c,
            score: if c { 5 } else { 1 },
        }),
        (None, Some(s)) => Some(Verdict {
            correct: s >= 4,
            score: s,
        }),
        (None, None) => None,
    }
}

/// The text after `label:` (or `label -`) at the start of a line.
fn after_label<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(label)?.trim_start_matches(['*', ' ']);
    let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('-'))?;
    Some(rest.trim().trim_matches(['*', '.', ' ']))
}

/// The first verdict word; none when the text names both (an echo of the instructions,
/// "correct or incorrect").
fn verdict_word(text: &str) -> Option<bool> {
    let words: Vec<Option<bool>> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "correct" | "right" | "yes" => Some(true),
            "incorrect" | "wrong" | "no" => Some(false),
            _ => None,
        })
        .collect();
    let first = (*words.first()?)?;
    let both = words.contains(&Some(true)) && words.contains(&Some(false));
    (!both).then_some(first)
}

fn score_number(text: &str) -> Option<u8> {
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    match digits.parse::<u8>() {
        Ok(n @ 1..=5) => Some(n),
        _ => None,
    }
}

/// Grades `answer` `settings.runs` times. A judge that cannot be reached is an error (the
/// item is evaluated again by `eval retry`); a reply that does not parse is not.
pub fn grade(
    judge: &dyn Generator,
    item: &Item,
    answer: &str,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<Grading, GenerateError> {
    let started = Instant::now();
    let mut out = Grading::default();
    for i in 0..settings.runs {
        let request = GenerateRequest {
            messages: messages(item, answer),
            sampling: SamplingParams {
                temperature: settings.temperature as f32,
                top_k: 0,
                top_p: 1.0,
                repetition_penalty: 1.0,
                seed: settings.seed.wrapping_add(i as u64),
            },
            max_new_tokens: settings.max_tokens,
            stop: Vec::new(),
        };
        let mut text = String::new();
        let stats = judge.generate(&request, cancel, &mut |e| {
            if let GenerateEvent::Text(t) = e {
                text.push_str(&t);
            }
        })?;
        out.prompt_tokens += stats.prompt_tokens;
        out.answer_tokens += stats.completion_tokens;
        out.verdicts.push(parse(&text));
        out.replies.push(text);
    }
    out.ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(out)
}

/// The item's own label: for an unanswerable item, whether the answer abstained; for an
/// answerable one, whether its token F1 against the gold answers is at least 0.5 (the
/// lenient SQuAD match). None when the item has neither metric.
pub fn label(item: &Item, metrics: &BTreeMap<String, f64>) -> Option<bool> {
    if item.unanswerable {
        metrics.get("abstention").map(|v| *v >= 0.5)
    } else {
        metrics.get("f1").map(|v| *v >= 0.5)
    }
}

impl Grading {
    fn parsed(&self) -> Vec<Verdict> {
        self.verdicts.iter().flatten().copied().collect()
    }

    /// Most gradings' verdict; None on a tie or when none parsed.
    pub fn majority(&self) -> Option<bool> {
        let parsed = self.parsed();
        let yes = parsed.iter().filter(|v| v.correct).count();
        let no = parsed.len() - yes;
        (yes != no).then_some(yes > no)
    }

    /// The judge metrics of the module doc.
    pub fn metrics(&self, label: Option<bool>) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let parsed = self.parsed();
        let runs = self.verdicts.len().max(1) as f64;
        out.insert(
            "judge_parse_failures".into(),
            (self.verdicts.len() - parsed.len()) as f64 / runs,
        );
        out.insert(
            "judge_failed".into(),
            f64::from(u8::from(parsed.is_empty())),
        );
        if parsed.is_empty() {
            return out;
        }
        let scores: Vec<f64> = parsed
            .iter()
            .map(|v| f64::from(v.score - 1) / 4.0)
            .collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        out.insert("judge_score".into(), mean);
        if scores.len() >= 2 {
            let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64;
            out.insert("judge_spread".into(), var.sqrt());
        }
        if let Some(m) = self.majority() {
            out.insert("judge_correct".into(), f64::from(u8::from(m)));
            if let Some(l) = label {
                out.insert("judge_agrees".into(), f64::from(u8::from(m == l)));
            }
        }
        out
    }

    /// What the result's detail keeps: every reply, so a parse failure can be read.
    pub fn detail(&self, name: &str, label: Option<bool>) -> serde_json::Value {
        serde_json::json!({
            "name": name,
            "replies": self.replies,
            "verdicts": self.verdicts,
            "majority": self.majority(),
            "label": label,
            "prompt_tokens": self.prompt_tokens,
            "answer_tokens": self.answer_tokens,
            "ms": self.ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grading(verdicts: &[Option<(bool, u8)>]) -> Grading {
        Grading {
            replies: vec![String::new(); verdicts.len()],
            verdicts: verdicts
                .iter()
                .map(|v| v.map(|(correct, score)| Verdict { correct, score }))
                .collect(),
            ..Grading::default()
        }
    }

    #[test]
    fn replies_parse_in_the_asked_form_and_its_common_variants() {
        let v = |c, s| {
            Some(Verdict {
                correct: c,
                score: s,
            })
        };
        assert_eq!(parse("VERDICT: correct\nSCORE: 5"), v(true, 5));
        assert_eq!(
            parse("**Verdict:** Incorrect.\n**Score:** 2/5"),
            v(false, 2)
        );
        assert_eq!(parse("Sure.\nverdict - wrong"), v(false, 1));
        assert_eq!(parse("Score: 4"), v(true, 4));
        assert_eq!(parse("SCORE: 3\nVERDICT: correct"), v(true, 3));
        // The first verdict counts; numbers out of range and prose are not gradings.
        assert_eq!(parse("VERDICT: correct\nVERDICT: incorrect"), v(true, 5));
        assert_eq!(parse("SCORE: 9"), None);
        assert_eq!(parse("The answer is correct."), None);
        assert_eq!(parse("VERDICT: maybe"), None);
        assert_eq!(parse("VerDICT: correct or incorrect"), None);
        assert_eq!(parse("VERDICT: correct (it is right)"), v(true, 5));
        assert_eq!(parse(""), None);
    }

    #[test]
    fn metrics_count_failures_and_never_invent_a_score() {
        let all_failed = grading(&[None, None, None]).metrics(Some(true));
        assert_eq!(all_failed["judge_parse_failures"], 1.0);
        assert_eq!(all_failed["judge_failed"], 1.0);
        assert!(!all_failed.contains_key("judge_score"));
        assert!(!all_failed.contains_key("judge_agrees"));

        // Scores 5, 3 and one failure: mean (1 + 0.5) / 2, spread 0.25, majority: a tie.
        let m = grading(&[Some((true, 5)), None, Some((false, 3))]).metrics(Some(true));
        assert!((m["judge_parse_failures"] - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m["judge_failed"], 0.0);
        assert_eq!(m["judge_score"], 0.75);
        assert_eq!(m["judge_spread"], 0.25);
        assert!(!m.contains_key("judge_correct"));

        let m = grading(&[Some((true, 5)), Some((true, 4)), Some((false, 1))]).metrics(Some(false));
        assert_eq!(m["judge_correct"], 1.0);
        assert_eq!(m["judge_agrees"], 0.0);
        let one = grading(&[Some((false, 2))]).metrics(None);
        assert_eq!(one["judge_correct"], 0.0);
        assert!(!one.contains_key("judge_spread") && !one.contains_key("judge_agrees"));
    }

    #[test]
    fn the_label_is_abstention_for_unanswerable_items_and_f1_otherwise() {
        let mut item = Item {
            key: "k".into(),
            question: "q".into(),
            answers: vec!["a".into()],
            gold_docs: BTreeMap::new(),
            gold_chunks: Vec::new(),
            unanswerable: false,
            draft: false,
        };
        let metrics: BTreeMap<String, f64> =
            [("f1".to_string(), 0.5), ("abstention".to_string(), 0.0)].into();
        assert_eq!(label(&item, &metrics), Some(true));
        item.unanswerable = true;
        assert_eq!(label(&item, &metrics), Some(false));
        assert_eq!(label(&item, &BTreeMap::new()), None);
        let text = &messages(&item, " I cannot say. ")[1].content;
        assert!(text.contains("(none: the documents") && text.contains("I cannot say."));
    }
}
