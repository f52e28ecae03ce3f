//! gauntlet-reports turns a run into a verdict: performance statistics (one per
//! file, each with its formula), calibration and model diagnostics, promotion gates,
//! regression diffs, and the JSON / Markdown / HTML / CSV renderers.
