//! gauntlet-engine simulates trading: one event loop over time across all symbols,
//! orders and the fill model (next-open fills, slippage, fees, stops), the portfolio
//! and its accounting, the risk rules that every order must pass, and sweeps.
