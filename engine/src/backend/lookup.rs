//! `livegate.ChannelLookup`: the onnxruntime kernel for the per-channel byte tables that
//! `engine/assets/prelu_lookup.py` puts in place of an int8 model's PReLU.
//!
//! onnxruntime has no integer PReLU, so a quantised model computes each one in float between a
//! DequantizeLinear and a QuantizeLinear: three passes over the tensor, nearly half of
//! MediaPipe Iris's run. Those three nodes together map each byte of a channel to another byte,
//! so the transform writes their effect out as a table of 256 values per channel, and this
//! kernel applies it in one pass. The model's answers do not change.
//!
//! A table lookup is one byte at a time. A PReLU's table is two straight pieces meeting at the
//! input's zero point, so where the node names its zero points the kernel also looks, for each
//! channel and piece, for an integer multiplier that reproduces the table exactly (checked on
//! all 256 inputs), and then computes `((x - x_zero) * multiplier + ½) >> SHIFT` plus
//! `y_zero`, saturated: arithmetic that vector instructions do many bytes at a time. A node
//! whose tables do not all have such a form is looked up.
//!
//! Inputs: x, uint8, channels on the last axis (the transform puts the node between two
//! Transposes, which onnxruntime's layout optimiser cancels against those of its channels-last
//! integer convolutions; it cannot see through an operator it does not know); table, uint8
//! C×256, a constant of the model. Attributes: x_zero_point, y_zero_point (optional). Output:
//! uint8, x's shape.

use ort::operator::{
    ComputeContext, Kernel, KernelContext, Operator, OperatorDomain, OperatorInput, OperatorOutput,
    ShapeInferenceContext,
};
use ort::value::{DynTensorValueType, TensorElementType};

/// The operator domain the transform writes, with its one operator.
pub(crate) fn domain() -> ort::Result<OperatorDomain> {
    OperatorDomain::new("livegate")?.add(ChannelLookup)
}

struct ChannelLookup;

impl Operator for ChannelLookup {
    type Kernel<'attr> = ChannelLookupKernel;

    fn name(&self) -> &str {
        "ChannelLookup"
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        [
            OperatorInput::required(TensorElementType::Uint8),
            OperatorInput::required(TensorElementType::Uint8),
        ]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Uint8)]
    }

    fn create_kernel<'attr>(
        &self,
        kctx: &KernelContext<'attr>,
    ) -> ort::Result<Self::Kernel<'attr>> {
        let table = kctx.constant_input::<DynTensorValueType>(1)?;
        let (shape, values) = table.try_extract_tensor::<u8>()?;
        // At least one channel: the kernels walk the input a pixel (C values) at a time.
        if shape.len() != 2 || shape[0] < 1 || shape[1] != 256 {
            return Err(ort::Error::new(format!(
                "ChannelLookup: the table must be C×256 with C ≥ 1, found {shape:?}"
            )));
        }
        let tables: Vec<[u8; 256]> = values
            .chunks_exact(256)
            .map(|row| row.try_into().expect("rows of 256"))
            .collect();
        let zero = |name| kctx.get::<i64>(name).and_then(|z| u8::try_from(z).ok());
        let linear = zero("x_zero_point")
            .zip(zero("y_zero_point"))
            .and_then(|(x_zero, y_zero)| TwoPieces::fit(&tables, x_zero, y_zero));
        Ok(match linear {
            Some(linear) => ChannelLookupKernel::Arithmetic(linear),
            None => ChannelLookupKernel::Tables(tables),
        })
    }

    fn infer_shape(&self, ctx: &mut ShapeInferenceContext) -> ort::Result<()> {
        let input = ctx.inputs().swap_remove(0);
        ctx.set_output(0, &input)
    }
}

/// How a node maps its bytes: the same mapping as arithmetic where every table has that form,
/// else the tables themselves (one per channel).
enum ChannelLookupKernel {
    Arithmetic(TwoPieces),
    Tables(Vec<[u8; 256]>),
}

impl ChannelLookupKernel {
    fn channels(&self) -> usize {
        match self {
            ChannelLookupKernel::Arithmetic(linear) => linear.above.len(),
            ChannelLookupKernel::Tables(tables) => tables.len(),
        }
    }
}

impl Kernel for ChannelLookupKernel {
    fn compute(&mut self, ctx: &ComputeContext) -> ort::Result<()> {
        let input = ctx
            .input(0)?
            .ok_or_else(|| ort::Error::new("ChannelLookup: no input"))?;
        let (shape, x) = input.try_extract_tensor::<u8>()?;
        let channels = self.channels();
        if shape.last().is_none_or(|&c| c as usize != channels) {
            return Err(ort::Error::new(format!(
                "ChannelLookup: {channels} channels' tables for an input of shape {shape:?}"
            )));
        }
        let mut output = ctx
            .output(0, shape.to_vec())?
            .ok_or_else(|| ort::Error::new("ChannelLookup: no output"))?;
        let (_, y) = output.try_extract_tensor_mut::<u8>()?;
        match self {
            ChannelLookupKernel::Arithmetic(linear) => linear.apply(x, y),
            ChannelLookupKernel::Tables(tables) => look_up(tables, x, y),
        }
        Ok(())
    }
}

/// Maps each value of `x` (channels last) through its channel's table into `y`.
fn look_up(tables: &[[u8; 256]], x: &[u8], y: &mut [u8]) {
    let channels = tables.len();
    for (src, dst) in x.chunks_exact(channels).zip(y.chunks_exact_mut(channels)) {
        for ((d, &s), table) in dst.iter_mut().zip(src).zip(tables) {
            *d = table[s as usize];
        }
    }
}

/// Fractional bits of a multiplier. With 16, a multiplier of up to ±128 keeps the product with
/// any input byte within an i32 (`LIMIT`): a PReLU's output scale is not that many times finer
/// than its input's, and a table that needs more is looked up.
const SHIFT: u32 = 16;
const HALF: i32 = 1 << (SHIFT - 1);
const LIMIT: i64 = (i32::MAX as i64 - HALF as i64) / 255;

/// Per channel, y = clamp(((x - x_zero) * m + HALF) >> SHIFT + y_zero), m taken from `above`
/// where x > x_zero and from `below` elsewhere.
#[derive(Debug)]
struct TwoPieces {
    x_zero: i32,
    y_zero: i32,
    above: Vec<i32>,
    below: Vec<i32>,
}

impl TwoPieces {
    /// The multipliers that reproduce every table exactly, if there are such.
    fn fit(tables: &[[u8; 256]], x_zero: u8, y_zero: u8) -> Option<Self> {
        let (xz, yz) = (i64::from(x_zero), i64::from(y_zero));
        let mut pieces = TwoPieces {
            x_zero: xz as i32,
            y_zero: yz as i32,
            above: Vec::with_capacity(tables.len()),
            below: Vec::with_capacity(tables.len()),
        };
        for table in tables {
            if table[x_zero as usize] != y_zero {
                return None;
            }
            let piece = |inputs: std::ops::Range<i64>| {
                let (mut lo, mut hi) = (-LIMIT, LIMIT);
                for q in inputs {
                    let (d, out) = (q - xz, i64::from(table[q as usize]));
                    let t = out - yz;
                    // out = clamp(r + y_zero): r = t, or only r >= t at 255, r <= t at 0.
                    // r >= t  <=>  d m >= t 2^S - HALF;  r <= t  <=>  d m <= (t + 1) 2^S - HALF - 1.
                    let at_least = (t << SHIFT) - i64::from(HALF);
                    let at_most = ((t + 1) << SHIFT) - i64::from(HALF) - 1;
                    if out < 255 {
                        if d > 0 {
                            hi = hi.min(at_most.div_euclid(d));
                        } else {
                            lo = lo.max(ceil_div(at_most, d));
                        }
                    }
                    if out > 0 {
                        if d > 0 {
                            lo = lo.max(ceil_div(at_least, d));
                        } else {
                            hi = hi.min(floor_div(at_least, d));
                        }
                    }
                }
                (lo <= hi).then(|| (lo + (hi - lo) / 2) as i32)
            };
            pieces.above.push(piece(xz + 1..256)?);
            pieces.below.push(piece(0..xz)?);
        }
        Some(pieces)
    }

    fn apply(&self, x: &[u8], y: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked on the line above.
            return unsafe { self.apply_avx2(x, y) };
        }
        self.apply_portable(x, y)
    }

    /// `apply_portable` compiled for AVX2, which does eight channels an instruction.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_avx2(&self, x: &[u8], y: &mut [u8]) {
        self.apply_portable(x, y)
    }

    #[inline(always)]
    fn apply_portable(&self, x: &[u8], y: &mut [u8]) {
        let channels = self.above.len();
        for (src, dst) in x.chunks_exact(channels).zip(y.chunks_exact_mut(channels)) {
            let multipliers = self.above.iter().zip(&self.below);
            for ((d, &s), (&above, &below)) in dst.iter_mut().zip(src).zip(multipliers) {
                let v = i32::from(s) - self.x_zero;
                // Both multipliers are read and masked, not chosen by a branch: the compiler
                // turned a choice between the two into per-lane pointer picks.
                let above_mask = -i32::from(v > 0);
                let m = (above & above_mask) | (below & !above_mask);
                *d = (((v * m + HALF) >> SHIFT) + self.y_zero).clamp(0, 255) as u8;
            }
        }
    }
}

fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if a % b != 0 && (a < 0) != (b < 0) {
        q - 1
    } else {
        q
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -floor_div(-a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_goes_through_its_own_table() {
        let tables = [
            std::array::from_fn(|v| v as u8),       // identity
            std::array::from_fn(|v| 255 - v as u8), // inversion
        ];
        // Three pixels of two channels, channels last.
        let x = [0, 10, 1, 20, 2, 30];
        let mut y = [0u8; 6];
        look_up(&tables, &x, &mut y);
        assert_eq!(y, [0, 245, 1, 235, 2, 225]);
    }

    /// A quantised PReLU's table, computed as onnxruntime computes the float island.
    fn prelu_table(x_scale: f32, x_zero: u8, slope: f32, y_scale: f32, y_zero: u8) -> [u8; 256] {
        std::array::from_fn(|q| {
            let x = (q as i32 - i32::from(x_zero)) as f32 * x_scale;
            let x = if x > 0.0 { x } else { slope * x };
            ((x / y_scale).round_ties_even() + f32::from(y_zero)).clamp(0.0, 255.0) as u8
        })
    }

    #[test]
    fn prelu_tables_are_computed_exactly_as_looked_up() {
        // Slopes as Iris has them (negative, zero, small, above one); scales finer and
        // coarser; zero points in the middle and near the ends, so that outputs saturate.
        let slopes = [-1.14f32, -0.45, 0.0, 0.07, 0.5, 0.94, 1.54];
        for (x_scale, x_zero, y_scale, y_zero) in [
            (0.031, 131u8, 0.017, 90u8),
            (0.0123, 7, 0.05, 3),
            (0.2, 250, 0.011, 200),
            (0.0437, 128, 0.0291, 128),
        ] {
            let tables: Vec<[u8; 256]> = slopes
                .iter()
                .map(|&a| prelu_table(x_scale, x_zero, a, y_scale, y_zero))
                .collect();
            let pieces = TwoPieces::fit(&tables, x_zero, y_zero).expect("the integer form");
            let x: Vec<u8> = (0..=255u8).flat_map(|v| [v; 7]).collect();
            let (mut arithmetic, mut looked_up) = (vec![0; x.len()], vec![0; x.len()]);
            pieces.apply(&x, &mut arithmetic);
            look_up(&tables, &x, &mut looked_up);
            assert_eq!(arithmetic, looked_up, "scales {x_scale} {y_scale}");
        }
    }

    #[test]
    fn tables_without_the_integer_form_are_looked_up() {
        // Equal scales and a slope of ½ put every odd input on a tie, which rounding to even
        // settles up and down in turn: no multiplier with a fixed rounding does that.
        let ties = prelu_table(0.05, 128, 0.5, 0.05, 128);
        assert!(TwoPieces::fit(&[ties], 128, 128).is_none());
        let squares: [u8; 256] = std::array::from_fn(|v| ((v * v) >> 8) as u8);
        assert!(TwoPieces::fit(&[squares], 0, 0).is_none());
    }
}
