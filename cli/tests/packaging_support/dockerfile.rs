//! The Dockerfile read as stages of instructions, as Docker reads it:
//! continuation lines joined, comment lines dropped.

use super::read;

/// One Dockerfile instruction, continuation lines joined, comments dropped.
#[derive(Debug, Clone)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// The Dockerfile's stages, in order, each a list of instructions (the
/// first being its FROM); ARGs before the first FROM are left out.
pub fn stages() -> Vec<Vec<Instruction>> {
    let text = read("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for line in logical.iter().filter(|l| !l.is_empty()) {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        };
        if instruction.keyword == "FROM" {
            stages.push(vec![instruction]);
        } else if let Some(stage) = stages.last_mut() {
            stage.push(instruction);
        }
    }
    stages
}

pub fn stage_named(name: &str) -> Vec<Instruction> {
    stages()
        .into_iter()
        .find(|s| {
            s[0].args
                .to_ascii_lowercase()
                .ends_with(&format!(" as {name}"))
        })
        .unwrap_or_else(|| panic!("the Dockerfile has no stage `AS {name}`"))
}

pub fn all(stage: &[Instruction], keyword: &str) -> Vec<String> {
    stage
        .iter()
        .filter(|i| i.keyword == keyword)
        .map(|i| i.args.clone())
        .collect()
}
