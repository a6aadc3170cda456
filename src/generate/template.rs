//! Chat templates: the model's Jinja template from tokenizer_config.json, rendered with
//! minijinja (with Python string methods, as Hugging Face templates use them), or ChatML when
//! the model has none.

use minijinja::{context, Environment, Error, ErrorKind};
use serde::Serialize;

use super::GenerateError;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

const CHATML: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    pub from_model: bool,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    pub fn new(
        template: Option<String>,
        bos: Option<String>,
        eos: Option<String>,
    ) -> Result<ChatTemplate, GenerateError> {
        let from_model = template.is_some();
        let t = ChatTemplate {
            source: template.unwrap_or_else(|| CHATML.to_string()),
            from_model,
            bos: bos.unwrap_or_default(),
            eos: eos.unwrap_or_default(),
        };
        // Compile once now, so a broken template is reported when the model loads.
        t.env()?;
        Ok(t)
    }

    pub fn chatml() -> ChatTemplate {
        ChatTemplate {
            source: CHATML.to_string(),
            from_model: false,
            bos: String::new(),
            eos: String::new(),
        }
    }

    fn env(&self) -> Result<Environment<'_>, GenerateError> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_template("chat", &self.source)
            .map_err(|e| GenerateError::Template(e.to_string()))?;
        Ok(env)
    }

    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, GenerateError> {
        let env = self.env()?;
        let template = env
            .get_template("chat")
            .map_err(|e| GenerateError::Template(e.to_string()))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos,
                eos_token => self.eos,
            })
            .map_err(|e| GenerateError::Template(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_fallback() {
        let t = ChatTemplate::new(None, None, None).unwrap();
        let out = t.render(&[ChatMessage::new("user", "Hi")], true).unwrap();
        assert_eq!(
            out,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn hugging_face_style_template_with_python_methods() {
        let src = "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}[sys]{% endif %}<{{ m['role'] }}>{{ m['content'] | trim }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}{{ 'x'.upper() }}";
        let t = ChatTemplate::new(Some(src.into()), None, Some("</s>".into())).unwrap();
        let out = t.render(&[ChatMessage::new("user", " Hi ")], true).unwrap();
        assert_eq!(out, "[sys]<user>Hi</s><assistant>X");
    }

    #[test]
    fn broken_templates_and_raise_exception_are_errors() {
        assert!(ChatTemplate::new(Some("{% for %}".into()), None, None).is_err());
        let t = ChatTemplate::new(
            Some("{{ raise_exception('roles must alternate') }}".into()),
            None,
            None,
        )
        .unwrap();
        let err = t.render(&[], true).unwrap_err().to_string();
        assert!(err.contains("roles must alternate"), "{err}");
    }
}
