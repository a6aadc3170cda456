-- A user's verdict on an assistant answer: 1 good, -1 bad, NULL not rated. Good answers
-- become training examples (`dataset export --from chats`).
ALTER TABLE chat_messages ADD COLUMN rating INTEGER CHECK (rating IN (1, -1));
CREATE INDEX chat_messages_rating ON chat_messages(rating) WHERE rating IS NOT NULL;
