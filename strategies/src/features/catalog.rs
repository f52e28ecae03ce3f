//! The built-in sets `core31` and `mtf50`: which features, in which order. Each
//! feature's formula is in its family's file under `indicators/`.

use super::indicators::{
    Atr, Bollinger, BollingerOutput, Calendar, FeatureKind, Macd, MacdOutput, MtfAtrRatio,
    MtfRangePosition, MtfReturn, MtfRsi, MtfTrend, MtfTrendAlignment, MtfVolumeRatio, Rsi, Session,
    Sma, Spread, Volatility, VolatilityClass, Volume, MTF_TIMEFRAMES,
};

/// The 31 features of `core31`, in order.
pub(crate) fn core31() -> Vec<FeatureKind> {
    let macd = |output| {
        FeatureKind::from(Macd {
            output,
            fast: 12,
            slow: 26,
            signal: 9,
        })
    };
    let bb = |output| {
        FeatureKind::from(Bollinger {
            output,
            window: 20,
            std: 2.0,
        })
    };
    let vol = |class| {
        FeatureKind::from(Volatility {
            class,
            window: 20,
            history: 100,
        })
    };
    let mut kinds: Vec<FeatureKind> = vec![
        Session::Tokyo.into(),
        Session::London.into(),
        Session::NewYork.into(),
        Calendar::DayOfWeek.into(),
        Calendar::IsWeekend.into(),
        Spread::Price.into(),
        Spread::Pct.into(),
        Atr::Value { window: 14 }.into(),
        Atr::SpreadRatio { window: 14 }.into(),
        Volume::Ma { window: 20 }.into(),
        Volume::Ratio { window: 20 }.into(),
        Volume::Trend { fast: 5, slow: 20 }.into(),
    ];
    for window in [7, 14, 21, 50] {
        kinds.push(Sma::Mean { window }.into());
        kinds.push(Sma::PriceRatio { window }.into());
    }
    kinds.extend([
        Rsi { window: 14 }.into(),
        macd(MacdOutput::Macd),
        macd(MacdOutput::Signal),
        macd(MacdOutput::Diff),
        bb(BollingerOutput::High),
        bb(BollingerOutput::Low),
        bb(BollingerOutput::Width),
        bb(BollingerOutput::Position),
        vol(VolatilityClass::Low),
        vol(VolatilityClass::Medium),
        vol(VolatilityClass::High),
    ]);
    kinds
}

/// `core31` followed by 6 quantities × {5m, 15m, 1h} and the trend alignment.
pub(crate) fn mtf50() -> Vec<FeatureKind> {
    let mut kinds = core31();
    for timeframe in MTF_TIMEFRAMES {
        kinds.extend([
            MtfReturn { timeframe }.into(),
            MtfRsi {
                timeframe,
                window: 14,
            }
            .into(),
            MtfAtrRatio {
                timeframe,
                window: 14,
            }
            .into(),
            MtfTrend {
                timeframe,
                fast: 8,
                slow: 21,
            }
            .into(),
            MtfRangePosition {
                timeframe,
                window: 20,
            }
            .into(),
            MtfVolumeRatio {
                timeframe,
                window: 20,
            }
            .into(),
        ]);
    }
    kinds.push(MtfTrendAlignment { fast: 8, slow: 21 }.into());
    kinds
}
