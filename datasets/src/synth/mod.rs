//! The deterministic synthetic universe: 1..=100 symbols of 1m..1d candles that look
//! enough like real crypto / equity / FX data to exercise everything downstream,
//! optionally with a planted, weak but learnable signal.
//!
//! # Model
//!
//! Time runs in bars of Δ minutes (Δ = 1 for `1m`, 5 for `5m`, …) from
//! [`SynthConfig::start_ms`]; every market trades 24/7. For symbol i with annualized
//! volatility v_i (365-day year), σ_i = v_i / √525600 is its per-minute volatility.
//! Each bar b:
//!
//! - **Market path** (shared, see [`MarketPath`]): regime R_b ∈ {low, medium, high}
//!   (Markov chain, volatility ×0.65/×1/×2), seasonality of the bar's minutes
//!   (Tokyo 00–09, London 07–16, New York 13–22 UTC sessions, a US-open burst,
//!   weekends at half the volume and 0.6 of the variance), giving the bar's
//!   `vol_scale` s_b (≈ regime · √Δ · session) and `volume_scale` w_b (≈ regime ·
//!   Δ · session), and the common factor return f_b (Student-t plus rare market jumps).
//! - **Log return**: `r = β_i f_b + σ_i √(1−ρ_i²) s_b t_b + d_b + J_b`, where
//!   β_i = ρ_i σ_i / σ_m (so a fraction ρ_i² of the variance is common; ρ is about
//!   0.65 for crypto, 0.35 for equities, 0.12 for FX, ±15 % per symbol), t_b is a
//!   unit-variance Student-t(4) innovation, J_b a symbol jump N(0, (12 σ_i)²) with
//!   probability 1 − exp(−λΔ) (λ: one per 2 days crypto, 5 days equities, 10 days
//!   FX) and d_b the planted signal's drift (below).
//! - **Prices**: the log price accumulates r; `close` is `exp(log price)` rounded to
//!   the symbol's tick (at least one tick); `open` is the previous bar's close (the
//!   start price for bar 0; a missing bar still moves the price, so the next open
//!   can gap); `high = max(open, close) · exp(σ_i s_b √(−ln U / 2))` and
//!   `low = min(open, close) · exp(−σ_i s_b √(−ln U′ / 2))` (the quantiles of a
//!   Brownian bridge's excursion), rounded to the tick and clamped so that
//!   `0 < low ≤ min(open, close) ≤ max(open, close) ≤ high`.
//! - **Volume** in base units: `q_i · w_b · (0.6 + 0.4 |t_b| / E|t|) · L_b · e^{σ_v,Δ Z − σ_v,Δ²/2}`
//!   plus `2 q_i w_b / Δ` in a bar with a symbol jump, rounded to the lot (at least
//!   one lot), with q_i = notional per minute / start price, L_b the signal's volume
//!   leak (below) and σ_v,Δ = √(ln(1 + (e^{0.25} − 1)/Δ)) so that a Δ-minute bar's
//!   noise has the dispersion of a sum of Δ one-minute bars (σ_v,1 = 0.5).
//! - **Missing bars**: each bar is dropped with probability
//!   [`SynthConfig::missing_bar_probability`]; rows are absent, the remaining
//!   timestamps stay on the interval grid.
//!
//! # Planted signal
//!
//! Each symbol has a hidden momentum state m (an AR(1), stationary N(0, 1)):
//! `m ← φ m + √(1−φ²) η`, η ~ N(0, 1), φ = exp(−Δ/τ), τ = [`SIGNAL_MEMORY_MINUTES`]
//! = 20 minutes. With k = [`SynthConfig::signal_strength`] it adds the drift
//! `d_b = k · σ_i (s_b/√Δ) · τ(1 − φ) · m` to the bar (k per-minute volatilities per
//! minute of persistent momentum: the expected integral of k σ m over the bar) and
//! raises volume by `L_b = (1 + 2k|m|) / (1 + 2k√(2/π))` (mean 1). The momentum shows
//! in recent returns (RSI, SMA ratios, MACD, Bollinger position) and its magnitude
//! in the volume ratio, so the return over the next ~5–30 minutes is partially
//! predictable from bars ≤ t. With k = 0.15 the sign of the past 20-minute return
//! predicts the sign of the next 20-minute return about 54 % of the time; with
//! k = 0 the series are martingales (50 %).
//!
//! # Interval consistency
//!
//! Generating at Δ > 1 directly is statistically consistent with resampling 1m:
//! per-bar variance is the sum of the per-minute variances (√Δ scaling, seasonality
//! summed minute by minute), expected volume the sum of per-minute volumes (Δ
//! scaling), jump and regime-switch probabilities are those of Δ one-minute steps
//! (up to two events in one bar), and the signal drift is the expected integral of
//! the minute drift. Paths differ: the random draws are per bar.
//!
//! # Determinism
//!
//! Symbol i draws from `ChaCha8Rng::seed_from_u64(seed)` on stream i + 1; the market
//! path from stream 0, generated once and shared read-only. Symbols are generated in
//! parallel, so results are identical for any thread count, symbol i does not depend
//! on how many symbols are generated, and a shorter universe is a prefix of a longer
//! one with the same seed and start.

mod market;
mod symbols;

use std::fs;
use std::path::{Path, PathBuf};

use rand::distributions::Open01;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

pub use market::{MarketPath, Regime};
pub use symbols::{AssetClass, SymbolProfile, MAX_SYMBOLS};

use crate::write::{file_name, write_series, WriteError};
use crate::{CandleSeries, FileFormat, Interval};
use market::{student_t4, Seasonality, MARKET_FACTOR_SIGMA_PER_MINUTE};

/// Memory τ of the planted momentum state in minutes (its autocorrelation after
/// t minutes is exp(−t/τ)).
pub const SIGNAL_MEMORY_MINUTES: f64 = 20.0;

/// The longest universe [`generate`] accepts, in days (ten years).
pub const MAX_DAYS: u32 = 3660;

/// 2024-01-01T00:00:00Z, a Monday, in ms since the Unix epoch.
pub const DEFAULT_START_MS: i64 = 1_704_067_200_000;

const MINUTES_PER_YEAR: f64 = 365.0 * 1440.0;
/// E|t| of the unit-variance Student-t(4): E|t₄| = 1 before scaling by 1/√2.
const MEAN_ABS_T4: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// Dispersion of the log-normal volume noise of a one-minute bar.
const VOLUME_NOISE_SIGMA_1M: f64 = 0.5;

/// What to generate. Every field has a documented default ([`Default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of symbols, taken in order from the fixed list (BTC-USD, ETH-USD,
    /// SOL-USD, JASMY-USD, … ; see [`symbol_names`]). Default 100; 1..=[`MAX_SYMBOLS`].
    pub symbols: usize,
    /// Length in days. Default 90; 1..=[`MAX_DAYS`].
    pub days: u32,
    /// Bar interval. Default `1m`.
    pub interval: Interval,
    /// Random seed: the same config gives identical series. Default 7.
    pub seed: u64,
    /// Open time of the first bar, ms since the Unix epoch; must be a multiple of
    /// the interval. Default [`DEFAULT_START_MS`] (2024-01-01T00:00:00Z, a Monday).
    pub start_ms: i64,
    /// Strength k ≥ 0 of the planted momentum signal (see the module doc); 0
    /// disables it. Default 0.15 (weak: ~54 % directional accuracy at 20 minutes).
    pub signal_strength: f64,
    /// Probability in [0, 1) that a bar is missing (absent row). Default 0.0005
    /// (about 65 missing minutes per symbol in 90 days of 1m bars).
    pub missing_bar_probability: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            symbols: 100,
            days: 90,
            interval: Interval::M1,
            seed: 7,
            start_ms: DEFAULT_START_MS,
            signal_strength: 0.15,
            missing_bar_probability: 0.0005,
        }
    }
}

/// One thing wrong with a [`SynthConfig`], naming the field and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigProblem {
    #[error("symbols is 0: expected 1 to {max}")]
    NoSymbols { max: usize },
    #[error("symbols is {requested}: the symbol list has only {available} names")]
    TooManySymbols { requested: usize, available: usize },
    #[error("days is 0: expected 1 to {max}")]
    NoDays { max: u32 },
    #[error("days is {days}: expected at most {max}")]
    TooManyDays { days: u32, max: u32 },
    #[error("missing_bar_probability is {0}: expected a number in [0, 1)")]
    MissingBarProbability(f64),
    #[error("signal_strength is {0}: expected a finite number >= 0 (0 disables the signal)")]
    SignalStrength(f64),
    #[error("start_ms {start_ms} is not aligned to the {interval} interval: expected a multiple of {millis} ms")]
    StartNotAligned {
        start_ms: i64,
        interval: Interval,
        millis: i64,
    },
    #[error("start_ms {start_ms}: the universe would end past the largest timestamp")]
    StartOutOfRange { start_ms: i64 },
}

/// Why the synthetic universe could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Every problem of the configuration, not just the first.
    #[error("invalid synthetic-universe configuration: {}", join(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    #[error(transparent)]
    Write(#[from] WriteError),
}

fn join(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl SynthConfig {
    /// Checks every field; the error lists all problems found.
    pub fn validate(&self) -> Result<(), SynthError> {
        let mut problems = Vec::new();
        if self.symbols == 0 {
            problems.push(ConfigProblem::NoSymbols { max: MAX_SYMBOLS });
        } else if self.symbols > MAX_SYMBOLS {
            problems.push(ConfigProblem::TooManySymbols {
                requested: self.symbols,
                available: MAX_SYMBOLS,
            });
        }
        if self.days == 0 {
            problems.push(ConfigProblem::NoDays { max: MAX_DAYS });
        } else if self.days > MAX_DAYS {
            problems.push(ConfigProblem::TooManyDays {
                days: self.days,
                max: MAX_DAYS,
            });
        }
        if !(0.0..1.0).contains(&self.missing_bar_probability) {
            problems.push(ConfigProblem::MissingBarProbability(
                self.missing_bar_probability,
            ));
        }
        if !(self.signal_strength.is_finite() && self.signal_strength >= 0.0) {
            problems.push(ConfigProblem::SignalStrength(self.signal_strength));
        }
        let millis = self.interval.millis();
        if self.start_ms.rem_euclid(millis) != 0 {
            problems.push(ConfigProblem::StartNotAligned {
                start_ms: self.start_ms,
                interval: self.interval,
                millis,
            });
        }
        let span_ms = i64::from(self.days.min(MAX_DAYS)) * 86_400_000;
        if self.start_ms.checked_add(span_ms).is_none() {
            problems.push(ConfigProblem::StartOutOfRange {
                start_ms: self.start_ms,
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SynthError::InvalidConfig(problems))
        }
    }

    /// Bars per symbol before missing bars are dropped: `days · 1440 / Δ`.
    pub fn bars_per_symbol(&self) -> usize {
        self.days as usize * 1440 / self.bar_minutes()
    }

    fn bar_minutes(&self) -> usize {
        (self.interval.millis() / 60_000) as usize
    }
}

/// The first `n` symbol profiles of the fixed list, BTC-USD first (0 gives none).
pub fn symbol_profiles(n: usize) -> Result<Vec<SymbolProfile>, SynthError> {
    if n > MAX_SYMBOLS {
        return Err(SynthError::InvalidConfig(vec![
            ConfigProblem::TooManySymbols {
                requested: n,
                available: MAX_SYMBOLS,
            },
        ]));
    }
    Ok((0..n).filter_map(symbols::profile).collect())
}

/// The first `n` symbol names of the fixed list: BTC-USD, ETH-USD, SOL-USD,
/// JASMY-USD, then 46 more crypto pairs, 30 equity-like tickers and 20 FX pairs.
pub fn symbol_names(n: usize) -> Result<Vec<String>, SynthError> {
    Ok(symbol_profiles(n)?
        .into_iter()
        .map(|p| p.name.to_string())
        .collect())
}

/// The random stream of the market path (symbols use streams 1..).
fn market_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0);
    rng
}

fn symbol_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64 + 1);
    rng
}

/// The shared market path (regimes, factor returns, per-bar scales) that
/// [`generate`] uses for `config`.
pub fn market_path(config: &SynthConfig) -> Result<MarketPath, SynthError> {
    config.validate()?;
    Ok(simulate_market(config))
}

fn simulate_market(config: &SynthConfig) -> MarketPath {
    MarketPath::simulate(
        &mut market_rng(config.seed),
        &Seasonality::new(),
        config.start_ms,
        config.bar_minutes(),
        config.bars_per_symbol(),
    )
}

/// Generates every symbol's series, in symbol-index order (BTC-USD first), in
/// parallel across symbols.
pub fn generate(config: &SynthConfig) -> Result<Vec<CandleSeries>, SynthError> {
    config.validate()?;
    let market = simulate_market(config);
    Ok((0..config.symbols)
        .into_par_iter()
        .filter_map(|i| symbols::profile(i).map(|p| generate_symbol(config, &market, i, &p)))
        .collect())
}

/// What [`generate_to_dir`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    pub symbols: usize,
    /// Candles written over all files.
    pub candles: usize,
    /// The written files, in symbol-index order.
    pub files: Vec<PathBuf>,
}

/// Generates the universe and writes one `<SYMBOL>_<interval>.<ext>` file per symbol
/// into `dir` (created if needed; each file written atomically), streaming: each
/// symbol is written and dropped as soon as it is generated, so memory stays at a
/// few series whatever the universe size. The files equal writing [`generate`]'s
/// output with [`crate::write::write_universe`]. `symbol_written` is called after each
/// file (from the worker that wrote it), for progress.
pub fn generate_to_dir(
    config: &SynthConfig,
    dir: &Path,
    format: FileFormat,
    symbol_written: impl Fn() + Sync,
) -> Result<SynthSummary, SynthError> {
    config.validate()?;
    fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let market = simulate_market(config);
    let written = (0..config.symbols)
        .into_par_iter()
        .filter_map(|i| symbols::profile(i).map(|p| (i, p)))
        .map(|(i, profile)| {
            let series = generate_symbol(config, &market, i, &profile);
            let path = dir.join(file_name(series.symbol(), series.interval(), format));
            write_series(&path, &series, format)?;
            symbol_written();
            Ok((path, series.len()))
        })
        .collect::<Result<Vec<_>, WriteError>>()?;
    Ok(SynthSummary {
        symbols: written.len(),
        candles: written.iter().map(|(_, n)| n).sum(),
        files: written.into_iter().map(|(path, _)| path).collect(),
    })
}

/// Share of a symbol's variance explained by the market factor is ρ², ρ by class.
fn factor_correlation(class: AssetClass) -> f64 {
    match class {
        AssetClass::Crypto => 0.65,
        AssetClass::Equity => 0.35,
        AssetClass::Fx => 0.12,
    }
}

/// Mean minutes between a symbol's own jumps, by class.
fn minutes_between_jumps(class: AssetClass) -> f64 {
    match class {
        AssetClass::Crypto => 2.0 * 1440.0,
        AssetClass::Equity => 5.0 * 1440.0,
        AssetClass::Fx => 10.0 * 1440.0,
    }
}

/// Symbol jumps are N(0, (12 σ_i)²).
const JUMP_SIGMAS: f64 = 12.0;

/// The per-bar loop of one symbol (see the module doc for every formula).
fn generate_symbol(
    config: &SynthConfig,
    market: &MarketPath,
    index: usize,
    profile: &SymbolProfile,
) -> CandleSeries {
    let mut rng = symbol_rng(config.seed, index);
    let bar_minutes = config.bar_minutes() as f64;
    let bar_ms = config.interval.millis();

    let sigma = profile.annual_volatility / MINUTES_PER_YEAR.sqrt();
    let rho = factor_correlation(profile.class) * rng.gen_range(0.85..1.15);
    let beta = rho * sigma / MARKET_FACTOR_SIGMA_PER_MINUTE;
    let idio_sigma = sigma * (1.0 - rho * rho).sqrt();
    let jump_probability = 1.0 - (-bar_minutes / minutes_between_jumps(profile.class)).exp();
    let jump_sigma = JUMP_SIGMAS * sigma;

    let phi = (-bar_minutes / SIGNAL_MEMORY_MINUTES).exp();
    let innovation_scale = (1.0 - phi * phi).sqrt();
    let k = config.signal_strength;
    let drift_per_state = k * sigma / bar_minutes.sqrt() * SIGNAL_MEMORY_MINUTES * (1.0 - phi);
    let leak = 2.0 * k;
    let leak_norm =
        1.0 / (1.0 + leak * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2);

    let volume_noise_sigma = ((VOLUME_NOISE_SIGMA_1M * VOLUME_NOISE_SIGMA_1M).exp_m1()
        / bar_minutes)
        .ln_1p()
        .sqrt();
    let volume_noise_mean_correction = -0.5 * volume_noise_sigma * volume_noise_sigma;
    let base_volume = profile.notional_per_minute / profile.start_price;
    let price_scale = 10f64.powi(profile.price_decimals as i32);
    let lot_scale = 10f64.powi(profile.volume_decimals as i32);
    let missing = config.missing_bar_probability;

    let bars = market.len();
    let mut series = CandleSeries::with_capacity(profile.name, config.interval, bars);
    let mut log_price = profile.start_price.ln();
    let mut momentum: f64 = rng.sample(StandardNormal);
    let mut prev_close_ticks = (profile.start_price * price_scale).round().max(1.0);
    let factor = market.factor_returns();
    let vol_scale = market.vol_scales();
    let volume_scale = market.volume_scales();

    for bar in 0..bars {
        let scale = vol_scale[bar];
        let innovation = student_t4(&mut rng);
        let mut ret = beta * factor[bar]
            + idio_sigma * scale * innovation
            + drift_per_state * scale * momentum;
        let mut volume_units = 0.0;
        if rng.gen::<f64>() < jump_probability {
            let z: f64 = rng.sample(StandardNormal);
            ret += jump_sigma * z;
            volume_units += 2.0 * base_volume * volume_scale[bar] / bar_minutes;
        }
        log_price += ret;
        let volume_leak = (1.0 + leak * momentum.abs()) * leak_norm;
        let eta: f64 = rng.sample(StandardNormal);
        momentum = phi * momentum + innovation_scale * eta;

        let open_ticks = prev_close_ticks;
        let close_ticks = (log_price.exp() * price_scale).round().max(1.0);
        prev_close_ticks = close_ticks;
        let bar_sigma = sigma * scale;
        let u_high: f64 = rng.sample(Open01);
        let u_low: f64 = rng.sample(Open01);
        let top = open_ticks.max(close_ticks);
        let bottom = open_ticks.min(close_ticks);
        let high_ticks = (top * (bar_sigma * (-u_high.ln() * 0.5).sqrt()).exp())
            .round()
            .max(top);
        let low_ticks = (bottom * (-bar_sigma * (-u_low.ln() * 0.5).sqrt()).exp())
            .round()
            .min(bottom)
            .max(1.0);

        let noise: f64 = rng.sample(StandardNormal);
        let activity = 0.6 + 0.4 * innovation.abs() / MEAN_ABS_T4;
        volume_units += base_volume
            * volume_scale[bar]
            * activity
            * volume_leak
            * (volume_noise_sigma * noise + volume_noise_mean_correction).exp();
        let volume_lots = (volume_units * lot_scale).round().max(1.0);

        if rng.gen::<f64>() < missing {
            continue;
        }
        series.push(
            config.start_ms + bar as i64 * bar_ms,
            open_ticks / price_scale,
            high_ticks / price_scale,
            low_ticks / price_scale,
            close_ticks / price_scale,
            volume_lots / lot_scale,
        );
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthConfig {
        SynthConfig {
            symbols: 3,
            days: 2,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn default_is_valid_and_sized_like_w1() {
        let config = SynthConfig::default();
        config.validate().unwrap();
        assert_eq!(config.bars_per_symbol() * config.symbols, 12_960_000);
    }

    #[test]
    fn every_problem_is_reported_with_its_field_name() {
        let config = SynthConfig {
            symbols: 0,
            days: 0,
            interval: Interval::M5,
            start_ms: DEFAULT_START_MS + 60_000,
            signal_strength: -0.1,
            missing_bar_probability: 1.0,
            ..SynthConfig::default()
        };
        let Err(SynthError::InvalidConfig(problems)) = config.validate() else {
            panic!("expected InvalidConfig");
        };
        assert_eq!(problems.len(), 5, "{problems:?}");
        let message = SynthError::InvalidConfig(problems).to_string();
        for field in [
            "symbols",
            "days",
            "missing_bar_probability",
            "signal_strength",
            "start_ms",
        ] {
            assert!(message.contains(field), "{field} missing in {message}");
        }
    }

    #[rstest::rstest]
    #[case::too_many_symbols(SynthConfig { symbols: 101, ..small() }, "symbols is 101")]
    #[case::too_many_days(SynthConfig { days: MAX_DAYS + 1, ..small() }, "days is 3661")]
    #[case::nan_probability(SynthConfig { missing_bar_probability: f64::NAN, ..small() }, "missing_bar_probability is NaN")]
    #[case::negative_probability(SynthConfig { missing_bar_probability: -0.1, ..small() }, "missing_bar_probability is -0.1")]
    #[case::infinite_signal(SynthConfig { signal_strength: f64::INFINITY, ..small() }, "signal_strength is inf")]
    #[case::start_overflow(SynthConfig { start_ms: i64::MAX / 60_000 * 60_000, ..small() }, "largest timestamp")]
    fn rejects_bad_input(#[case] config: SynthConfig, #[case] expected: &str) {
        let err = generate(&config).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }

    #[test]
    fn symbol_names_start_with_the_majors_and_reject_too_many() {
        let names = symbol_names(4).unwrap();
        assert_eq!(names, ["BTC-USD", "ETH-USD", "SOL-USD", "JASMY-USD"]);
        assert_eq!(symbol_names(MAX_SYMBOLS).unwrap().len(), 100);
        assert!(symbol_names(0).unwrap().is_empty());
        let err = symbol_names(101).unwrap_err().to_string();
        assert!(err.contains("only 100 names"), "{err}");
    }

    #[test]
    fn first_bar_opens_at_the_start_price_and_start_time() {
        let series = generate(&small()).unwrap();
        assert_eq!(series.len(), 3);
        assert_eq!(series[0].symbol(), "BTC-USD");
        assert_eq!(series[0].ts()[0], DEFAULT_START_MS);
        assert_eq!(series[0].open()[0], 80_000.0);
        assert_eq!(series[2].open()[0], 150.0);
    }

    #[test]
    fn zero_missing_probability_keeps_every_bar() {
        let config = SynthConfig {
            missing_bar_probability: 0.0,
            ..small()
        };
        let series = generate(&config).unwrap();
        assert!(series.iter().all(|s| s.len() == 2 * 1440));
    }
}
