//! The equity curve: a row recorded at every close, followed by the portfolio rules
//! that read it; or, on an aligned grid without equity-based rules, the rows written in
//! blocks just before the portfolio changes (the deferred curve), which saves the marks
//! and the valuation at every close.

use gauntlet_strategies::strategy::Strategy;

use super::Simulator;
use crate::fill::SlippageModel;
use crate::risk::PortfolioAction;

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// At the close of `ts`, after every bar of it was marked: appends the equity curve
    /// row and runs the portfolio rules. Returns the equity and whether to flatten.
    #[inline(always)]
    pub(super) fn record_close(&mut self, ts: i64) -> (f64, bool) {
        let valuation = self.portfolio.valuation();
        self.curve.ts.push(ts);
        self.curve.equity.push(valuation.equity);
        self.curve.cash.push(self.portfolio.cash());
        self.curve.gross_exposure.push(valuation.gross_exposure);
        self.curve.net_exposure.push(valuation.net_exposure);
        let action = self
            .risk
            .check_portfolio(ts, valuation.equity, &mut self.events);
        (valuation.equity, action == PortfolioAction::Flatten)
    }

    /// With a deferred curve: writes the rows of the timestamps before `row` not yet
    /// written, valued as [`Self::record_close`] would have at their closes. Called
    /// before every change of the portfolio (a fill at bar `row`), so the positions and
    /// cash are those of all these rows, and every open position's mark at a row is
    /// that row's close (aligned grid: every symbol has a bar at every timestamp).
    pub(super) fn flush_curve(&mut self, row: usize) {
        let from = self.curve.len();
        if !self.deferred_curve || row <= from {
            return;
        }
        let (slots, curve) = (&self.slots, &mut self.curve);
        curve.ts.extend_from_slice(&slots[0].columns.ts[from..row]);
        curve
            .cash
            .extend(std::iter::repeat_n(self.portfolio.cash(), row - from));
        self.portfolio.valuations_into(
            row - from,
            |s| &slots[s].columns.close[from..row],
            &mut curve.equity,
            &mut curve.gross_exposure,
            &mut curve.net_exposure,
        );
    }
}
