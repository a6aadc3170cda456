//! Token-aware chunking with the embedding model's own tokenizer: chunks of about
//! `target` tokens, `overlap` tokens shared with the previous chunk, cut only where a word
//! starts, within one Markdown section so each chunk keeps its heading path.

use tokenizers::Tokenizer;

use super::types::{ChunkPiece, LoadedDoc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSettings {
    pub target: usize,
    pub overlap: usize,
}

pub fn chunk(
    doc: &LoadedDoc,
    tokenizer: &Tokenizer,
    settings: ChunkSettings,
) -> Result<Vec<ChunkPiece>, String> {
    let mut pieces = Vec::new();
    for section in &doc.sections {
        let text = &doc.text[section.start..section.end];
        let encoding = tokenizer
            .encode(text, false)
            .map_err(|e| format!("tokenizer failed: {e}"))?;
        let offsets = split_long_tokens(text, encoding.get_offsets());
        for (s, e) in spans(&offsets, settings) {
            let (start, end) = (offsets[s].0, offsets[e - 1].1);
            pieces.push(ChunkPiece {
                text: text[start..end].to_string(),
                byte_start: section.start + start,
                byte_end: section.start + end,
                heading_path: section.heading_path.clone(),
                token_count: e - s,
            });
        }
    }
    Ok(pieces)
}

/// A token longer than this many bytes is one the model cannot read (WordPiece makes a
/// word over 100 characters one `[UNK]`): a 2 MB line without spaces was one "token".
const LONG_TOKEN_BYTES: usize = 100;
/// Such a token is counted, and may be cut, as one token per this many bytes, the usual
/// rate for text, so chunks stay bounded and token counts honest about the chunk's size.
const BYTES_PER_TOKEN: usize = 4;

/// `offsets` with each overlong token split into pieces of about BYTES_PER_TOKEN bytes, cut
/// at character boundaries of `text`.
fn split_long_tokens(text: &str, offsets: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(offsets.len());
    for &(start, end) in offsets {
        if end - start <= LONG_TOKEN_BYTES || text.get(start..end).is_none() {
            out.push((start, end));
            continue;
        }
        let mut piece = start;
        for (i, _) in text[start..end].char_indices() {
            if start + i - piece >= BYTES_PER_TOKEN {
                out.push((piece, start + i));
                piece = start + i;
            }
        }
        out.push((piece, end));
    }
    out
}

/// Token index ranges `[s, e)` of the chunks over tokens with the given byte offsets.
pub fn spans(offsets: &[(usize, usize)], settings: ChunkSettings) -> Vec<(usize, usize)> {
    let n = offsets.len();
    let word_start = |i: usize| i == 0 || i >= n || offsets[i].0 > offsets[i - 1].1;
    let target = settings.target.max(1);
    let mut out = Vec::new();
    let mut s = 0;
    // Whitespace between tokens is no token but is in the chunk's text: a run of it is cut
    // out by keeping every chunk within the bytes its tokens could take.
    let max_bytes = target * (LONG_TOKEN_BYTES + BYTES_PER_TOKEN);
    while s < n {
        let mut e = (s + target).min(n);
        let mut capped = false;
        while e > s + 1 && offsets[e - 1].1.saturating_sub(offsets[s].0) > max_bytes {
            e -= 1;
            capped = true;
        }
        if capped {
            // The gap is the cut: no overlap across it.
            out.push((s, e));
            s = e;
            continue;
        }
        if e < n {
            // Back off to the nearest word start; a single "word" longer than the target
            // (a URL, a hash) is cut where it must be.
            if let Some(b) = (s + 1..=e).rev().find(|&i| word_start(i)) {
                e = b;
            }
        }
        out.push((s, e));
        if e >= n {
            break;
        }
        // Start the next chunk at the word start nearest before the overlap point, so the
        // shared text begins on a whole word.
        let back = e.saturating_sub(settings.overlap).max(s + 1);
        s = (s + 1..=back)
            .rev()
            .find(|&i| word_start(i))
            .or_else(|| (back..=e).find(|&i| word_start(i)))
            .unwrap_or(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets for words of `len` tokens each, separated by one space: a word is "aaa" split
    /// into tokens of one byte.
    fn words(lens: &[usize]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut pos = 0;
        for &len in lens {
            for _ in 0..len {
                out.push((pos, pos + 1));
                pos += 1;
            }
            pos += 1; // the space
        }
        out
    }

    #[test]
    fn chunks_never_cut_inside_a_word_and_overlap() {
        let offsets = words(&[2, 3, 2, 3, 2, 3]);
        let spans = spans(
            &offsets,
            ChunkSettings {
                target: 6,
                overlap: 2,
            },
        );
        let starts: Vec<usize> = offsets
            .iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || offsets[*i].0 > offsets[*i - 1].1)
            .map(|(i, _)| i)
            .collect();
        for (s, e) in &spans {
            assert!(starts.contains(s), "chunk starts inside a word: {spans:?}");
            assert!(
                *e == offsets.len() || starts.contains(e),
                "chunk ends inside a word: {spans:?}"
            );
            assert!(e - s <= 6);
        }
        // consecutive chunks share tokens, and together they cover everything
        for pair in spans.windows(2) {
            assert!(pair[1].0 < pair[0].1, "{spans:?}");
        }
        assert_eq!(spans.last().unwrap().1, offsets.len());
    }

    #[test]
    fn an_overlong_word_is_cut_rather_than_looping() {
        let offsets = words(&[20]);
        let spans = spans(
            &offsets,
            ChunkSettings {
                target: 8,
                overlap: 2,
            },
        );
        assert_eq!(spans.first(), Some(&(0, 8)));
        assert_eq!(spans.last().unwrap().1, 20);
    }

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(
            spans(
                &words(&[1, 1, 1]),
                ChunkSettings {
                    target: 200,
                    overlap: 32
                }
            ),
            vec![(0, 3)]
        );
        assert!(spans(
            &[],
            ChunkSettings {
                target: 10,
                overlap: 2
            }
        )
        .is_empty());
    }

    #[test]
    fn a_long_line_without_spaces_becomes_many_bounded_chunks() {
        let text = "é".repeat(500_000) + "x"; // 1 MB of one "word", multi-byte characters
        let offsets = split_long_tokens(&text, &[(0, text.len())]);
        assert!(offsets.len() > 200_000, "{}", offsets.len());
        for (s, e) in &offsets {
            assert!(text.is_char_boundary(*s) && text.is_char_boundary(*e));
            assert!(e - s <= BYTES_PER_TOKEN + 3);
        }
        let settings = ChunkSettings {
            target: 256,
            overlap: 32,
        };
        let spans = spans(&offsets, settings);
        assert!(spans.len() > 800, "{}", spans.len());
        assert!(spans.iter().all(|(s, e)| e - s <= 256));
        assert_eq!(spans.last().unwrap().1, offsets.len());
    }

    #[test]
    fn a_run_of_whitespace_is_cut_out_of_the_chunks() {
        // "a", 100 kB of spaces, "b c": the run went whole into one chunk of two tokens.
        let offsets = [(0, 1), (100_001, 100_002), (100_003, 100_004)];
        let settings = ChunkSettings {
            target: 2,
            overlap: 1,
        };
        assert_eq!(spans(&offsets, settings), vec![(0, 1), (1, 3)]);
    }
}
