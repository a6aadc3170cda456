//! Hand-computed cases for the answer metrics.

use super::*;

fn g(answers: &[&str]) -> Vec<String> {
    answers.iter().map(|s| s.to_string()).collect()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn normalize_follows_squad() {
    // lower: "the cat's  hat, a-ok!"; punctuation out: "the cats  hat aok"; articles out.
    assert_eq!(normalize("The Cat's  hat, a-OK!"), "cats hat aok");
    // Articles only as whole words: "theory" and "another" stay.
    assert_eq!(
        normalize("An apple and the theory of another"),
        "apple and theory of another"
    );
    assert_eq!(normalize("  The\tA an  "), "");
}

#[test]
fn exact_match_after_normalisation() {
    close(exact_match("the Eiffel Tower.", &g(&["Eiffel tower"])), 1.0);
    close(exact_match("Eiffel", &g(&["Eiffel tower"])), 0.0);
    close(exact_match("Paris", &g(&["Rome", "paris!", "paris"])), 1.0);
    close(exact_match("Paris", &[]), 0.0);
}

#[test]
fn token_f1_hand_computed() {
    // pred [big, red, dog], gold [red, dog, barked]: 2 shared, P = R = 2/3.
    close(
        token_f1("the big red dog", &g(&["a red dog barked"])),
        2.0 / 3.0,
    );
    // pred [dog, dog, dog], gold [dog, cat]: a token counts as often as on both sides (1),
    // P = 1/3, R = 1/2, F1 = 2 * 1/6 / (5/6) = 0.4.
    close(token_f1("dog dog dog", &g(&["dog cat"])), 0.4);
    // Best gold wins; duplicated gold answers change nothing.
    close(token_f1("red dog", &g(&["cat", "red dog", "red dog"])), 1.0);
    close(token_f1("nothing shared", &g(&["red dog"])), 0.0);
}

#[test]
fn empty_sides_follow_squad_and_no_gold_scores_zero() {
    close(token_f1("", &g(&["x"])), 0.0);
    close(token_f1("x", &g(&[""])), 0.0);
    // Both normalise to no tokens: 1.
    close(token_f1("The", &g(&["a"])), 1.0);
    close(exact_match("The", &g(&["a"])), 1.0);
    close(token_f1("anything", &[]), 0.0);
}

#[test]
fn abstentions_are_recognised() {
    assert!(abstains(""));
    assert!(abstains("  \n "));
    assert!(abstains("I don’t know based on the sources."));
    assert!(abstains(
        "The sources do not say how long backups are kept."
    ));
    // A short answer is searched whole.
    assert!(abstains("Sorry. I cannot answer that from the sources."));
    assert!(abstains("NOT MENTIONED"));
}

#[test]
fn answers_are_not_abstentions() {
    assert!(!abstains("The stipend is $400 per primary week [1]."));
    // Whole words only: "answers" is not "answer".
    assert!(!abstains("There were no answers left to grade."));
    // A long answer is judged by its first sentence (24 + 7 = 31 words > 25).
    let long = "The stipend is $400 per primary week, paid via payroll the following month, \
                and secondary on-call earns $150 per week as the handbook explains. \
                Overtime is not mentioned in the sources.";
    assert!(!abstains(long));
}

#[test]
fn abstention_correct_both_directions() {
    close(abstention_correct("I do not know.", true), 1.0);
    close(abstention_correct("I do not know.", false), 0.0);
    close(abstention_correct("It is $400.", false), 1.0);
    close(abstention_correct("It is $400.", true), 0.0);
}

fn c(document: &str, chunk_id: i64) -> CitedRef {
    CitedRef {
        document: document.into(),
        chunk_id,
    }
}

fn docs(d: &[&str]) -> GoldRefs {
    GoldRefs {
        documents: g(d),
        chunks: Vec::new(),
    }
}

#[test]
fn same_document_matches_paths_and_beir_ids() {
    assert!(same_document("handbook/pto.md", "handbook/pto.md"));
    assert!(same_document(
        "/srv/docs/handbook/pto.md",
        "handbook/pto.md"
    ));
    assert!(!same_document(
        "/srv/docs/myhandbook/pto.md",
        "handbook/pto.md"
    ));
    assert!(same_document("/d/scifact/corpus.jsonl#123", "123"));
    assert!(!same_document("/d/scifact/corpus.jsonl#1123", "123"));
    assert!(!same_document("a.md", ""));
}

#[test]
fn no_citations_or_no_gold() {
    let s = citation_scores(&[], &docs(&["a.md"]));
    assert_eq!(s.precision, None);
    assert_eq!(s.recall, Some(0.0));
    let s = citation_scores(&[c("a.md", 1)], &GoldRefs::default());
    assert_eq!(
        s,
        CitationScores {
            precision: Some(0.0),
            recall: None
        }
    );
}

#[test]
fn duplicate_citations_count_once() {
    // Unique cited: (a.md, 1) correct, (b.md, 2) not: P = 1/2; the one gold document is
    // cited: R = 1.
    let cited = [c("kb/a.md", 1), c("kb/a.md", 1), c("kb/b.md", 2)];
    let s = citation_scores(&cited, &docs(&["a.md", "a.md"]));
    assert_eq!(
        s,
        CitationScores {
            precision: Some(0.5),
            recall: Some(1.0)
        }
    );
    // Two chunks of one gold document are two correct citations.
    let s = citation_scores(&[c("a.md", 1), c("a.md", 3)], &docs(&["a.md", "c.md"]));
    assert_eq!(
        s,
        CitationScores {
            precision: Some(1.0),
            recall: Some(0.5)
        }
    );
}

#[test]
fn chunk_level_gold_and_beir_ids() {
    let gold = GoldRefs {
        documents: Vec::new(),
        chunks: vec![5, 7],
    };
    let s = citation_scores(&[c("x.md", 5), c("y.md", 6)], &gold);
    assert_eq!(
        s,
        CitationScores {
            precision: Some(0.5),
            recall: Some(0.5)
        }
    );
    let cited = [c("/d/corpus.jsonl#42", 10), c("/d/corpus.jsonl#7", 11)];
    let s = citation_scores(&cited, &docs(&["42", "99", "100"]));
    close(s.precision.unwrap(), 0.5);
    close(s.recall.unwrap(), 1.0 / 3.0);
}
