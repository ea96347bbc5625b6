//! The Gilbert–Elliott chain behind bursts, evaluated per sequence number so
//! a seed replays it whatever order concurrent requests ask in.

use std::collections::VecDeque;

use rand::Rng;

use crate::sampling::ReadyBursts;
use crate::sampling::rng::SeedKey;

/// How many recent states are kept for requests that ask out of order.
const WINDOW: usize = 1 << 16;

/// States of the chain for recent sequence numbers. State k follows from
/// state k-1 and one draw of the generator for k; state 0 is good.
#[derive(Debug, Default)]
pub(crate) struct BurstChain {
    /// Sequence number of `states[0]`.
    first: u64,
    states: VecDeque<bool>,
}

impl BurstChain {
    /// Whether request `seq` falls in a bad (bursting) state.
    pub(crate) fn is_bad(&mut self, seq: u64, model: &ReadyBursts, key: &SeedKey) -> bool {
        if self.states.is_empty() {
            self.first = 1;
        }
        while self.first + (self.states.len() as u64) <= seq {
            let next = self.first + self.states.len() as u64;
            let previous = self.states.back().copied().unwrap_or(false);
            let u: f64 = key.rng(next).random();
            let bad = if previous {
                u >= model.exit
            } else {
                u < model.enter
            };
            self.states.push_back(bad);
            if self.states.len() > WINDOW {
                self.states.pop_front();
                self.first += 1;
            }
        }
        // Older than the window (a request stuck in a queue for 65k others):
        // treat it as good rather than recompute the chain from the start.
        seq.checked_sub(self.first)
            .and_then(|i| self.states.get(i as usize).copied())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::profile::FaultMenu;

    fn model(enter: f64, exit: f64) -> ReadyBursts {
        ReadyBursts {
            enter,
            exit,
            menu: Arc::new(FaultMenu::default()),
        }
    }

    #[test]
    fn asking_out_of_order_gives_the_same_states() {
        let key = SeedKey::new(3, "d");
        let m = model(0.05, 0.2);
        let mut forward = BurstChain::default();
        let a: Vec<bool> = (1..=2000).map(|k| forward.is_bad(k, &m, &key)).collect();
        let mut backward = BurstChain::default();
        backward.is_bad(2000, &m, &key);
        let b: Vec<bool> = (1..=2000).map(|k| backward.is_bad(k, &m, &key)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_runs_last_one_over_exit_on_average() {
        let key = SeedKey::new(11, "d");
        let (enter, exit) = (0.02, 0.25);
        let m = model(enter, exit);
        let mut chain = BurstChain::default();
        let states: Vec<bool> = (1..=200_000).map(|k| chain.is_bad(k, &m, &key)).collect();
        let runs: Vec<usize> = states
            .split(|bad| !bad)
            .filter(|run| !run.is_empty())
            .map(<[bool]>::len)
            .collect();
        let n = runs.len() as f64;
        let mean = runs.iter().sum::<usize>() as f64 / n;
        // Run lengths are geometric: mean 1/exit, variance (1-exit)/exit².
        let expected = 1.0 / exit;
        let sd = ((1.0 - exit) / (exit * exit)).sqrt();
        assert!(
            (mean - expected).abs() < 5.0 * sd / n.sqrt(),
            "{mean} over {n} runs"
        );
        // Stationary share of bad states: enter / (enter + exit).
        let share = states.iter().filter(|b| **b).count() as f64 / states.len() as f64;
        assert!((share - enter / (enter + exit)).abs() < 0.01, "{share}");
    }
}
