//! Conversation history from a stored chat session, for the prompt builder.

use rusqlite::Connection;

use super::RagError;
use crate::generate::ChatMessage;
use crate::store::chat;

/// The user and assistant messages of `session`, oldest first, as the builder takes them.
/// The stored text is what was asked and answered; sources are not replayed (each question
/// retrieves its own).
pub fn session_history(conn: &Connection, session: i64) -> Result<Vec<ChatMessage>, RagError> {
    Ok(chat::messages(conn, session)?
        .into_iter()
        .filter(|m| m.role == "user" || m.role == "assistant")
        .map(|m| ChatMessage::new(&m.role, m.content))
        .collect())
}

/// History from (question, answer) turns, oldest first, as the console keeps them. A turn
/// without an answer (cancelled before its first token) is left out whole, so roles keep
/// alternating.
pub fn from_turns(turns: &[(String, String)]) -> Vec<ChatMessage> {
    turns
        .iter()
        .filter(|(_, answer)| !answer.trim().is_empty())
        .flat_map(|(q, a)| {
            [
                ChatMessage::new("user", q.as_str()),
                ChatMessage::new("assistant", a.as_str()),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_become_alternating_messages_and_unanswered_ones_are_left_out() {
        let turns = [
            ("Q1".to_string(), "A1".to_string()),
            ("Q2".to_string(), " ".to_string()),
            ("Q3".to_string(), "A3".to_string()),
        ];
        let roles: Vec<(String, String)> = from_turns(&turns)
            .into_iter()
            .map(|m| (m.role, m.content))
            .collect();
        let expected = [
            ("user", "Q1"),
            ("assistant", "A1"),
            ("user", "Q3"),
            ("assistant", "A3"),
        ];
        assert_eq!(roles, expected.map(|(r, c)| (r.to_string(), c.to_string())));
    }
}
