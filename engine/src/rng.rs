//! Counter-based noise (contract 4). Every normal draw is a pure function of
//! `(seed, slot, step, element)` through Philox4x32-10, so any backend (the
//! CUDA one on the device, without transfers) produces the same noise in any
//! order.
//!
//! Draw order, which is part of the contract:
//! - key = `[seed as u32, (seed >> 32) as u32]`
//! - element `e` of the slot's window (`e = frame * channels + channel`)
//!   belongs to block `p = e / 4`; the counter is
//!   `[p, step, slot as u32, (slot >> 32) as u32]`
//! - the four outputs `x0..x3` of that block give two Box–Muller pairs:
//!   `(x0, x1)` → elements `4p`, `4p + 1`; `(x2, x3)` → `4p + 2`, `4p + 3`
//! - per pair `u1 = ((a >> 8) + 1) * 2^-24` in (0, 1], `u2 = (b >> 8) *
//!   2^-24`, `r = sqrt(-2 ln u1)`: first element `r cos(2π u2)`, second
//!   `r sin(2π u2)`, computed in f64 and rounded to f32 once
//! - `step` 0 is a slot's initial noise; `step k + 1` is the noise an SDE
//!   sampler re-injects after denoise step `k`.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds (Salmon et al., "Parallel random numbers: as
/// easy as 1, 2, 3", SC 2011).
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// Which noise stream a draw belongs to: one per (seed, slot, step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoiseKey {
    /// The stream's seed.
    pub seed: u64,
    /// The slot's serial number: the count of slots admitted before it.
    pub slot: u64,
    /// 0 for initial noise, `k + 1` for noise re-injected after step `k`.
    pub step: u32,
}

fn box_muller(a: u32, b: u32) -> (f32, f32) {
    const INV_2_24: f64 = 1.0 / 16_777_216.0;
    let u1 = (f64::from(a >> 8) + 1.0) * INV_2_24;
    let u2 = f64::from(b >> 8) * INV_2_24;
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f64::consts::TAU * u2;
    ((r * theta.cos()) as f32, (r * theta.sin()) as f32)
}

impl NoiseKey {
    fn block(&self, p: u32) -> [f32; 4] {
        let x = philox4x32_10(
            [p, self.step, self.slot as u32, (self.slot >> 32) as u32],
            [self.seed as u32, (self.seed >> 32) as u32],
        );
        let (n0, n1) = box_muller(x[0], x[1]);
        let (n2, n3) = box_muller(x[2], x[3]);
        [n0, n1, n2, n3]
    }

    /// The standard normal draw for element `e`.
    pub fn normal(&self, e: u32) -> f32 {
        self.block(e / 4)[(e % 4) as usize]
    }

    /// Fills `out` with elements `0..out.len()` of this stream.
    pub fn fill_normal(&self, out: &mut [f32]) {
        for (p, chunk) in out.chunks_mut(4).enumerate() {
            let block = self.block(p as u32);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_matches_random123_known_answers() {
        // Known-answer vectors from Random123's kat_vectors for philox4x32_10.
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn fill_agrees_with_single_draws_and_is_standard_normal() {
        let key = NoiseKey {
            seed: 7,
            slot: 3,
            step: 0,
        };
        let mut buf = vec![0.0f32; 4099];
        key.fill_normal(&mut buf);
        for e in [0u32, 1, 2, 3, 4, 4097, 4098] {
            assert_eq!(buf[e as usize].to_bits(), key.normal(e).to_bits());
        }
        let mean = buf.iter().map(|&x| f64::from(x)).sum::<f64>() / buf.len() as f64;
        let var = buf
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / buf.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.06, "var {var}");
    }

    #[test]
    fn every_key_field_changes_the_stream() {
        let base = NoiseKey {
            seed: 1,
            slot: 2,
            step: 3,
        };
        let others = [
            NoiseKey { seed: 2, ..base },
            NoiseKey { slot: 3, ..base },
            NoiseKey { step: 4, ..base },
            NoiseKey {
                slot: 2 + (1 << 32),
                ..base
            },
        ];
        for other in others {
            assert_ne!(base.normal(0), other.normal(0), "{other:?}");
        }
    }
}
