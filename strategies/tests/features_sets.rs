//! Feature sets, manifests and hashes, custom TOML sets and their errors.

use gauntlet_strategies::features::{
    FeatureDef, FeatureError, FeatureKind, FeatureManifest, FeatureSet, Rsi, SetIssue,
};

const CORE31: [&str; 31] = [
    "session_tokyo",
    "session_london",
    "session_new_york",
    "day_of_week",
    "is_weekend",
    "spread",
    "spread_pct",
    "atr",
    "spread_atr_ratio",
    "volume_ma",
    "volume_ratio",
    "volume_trend",
    "sma_7",
    "price_sma_7_ratio",
    "sma_14",
    "price_sma_14_ratio",
    "sma_21",
    "price_sma_21_ratio",
    "sma_50",
    "price_sma_50_ratio",
    "rsi",
    "macd",
    "macd_signal",
    "macd_diff",
    "bb_high",
    "bb_low",
    "bb_width",
    "bb_position",
    "volatility_low",
    "volatility_medium",
    "volatility_high",
];

fn issues(err: FeatureError) -> Vec<SetIssue> {
    match err {
        FeatureError::InvalidSet { issues, .. } => issues,
        other => panic!("expected InvalidSet, got {other}"),
    }
}

#[test]
fn core31_has_exactly_the_specified_names_in_order() {
    assert_eq!(FeatureSet::core31().names(), CORE31);
}

#[test]
fn mtf50_is_core31_plus_19_multi_timeframe_features() {
    let set = FeatureSet::mtf50();
    assert_eq!(set.len(), 50);
    assert_eq!(set.names()[..31], CORE31);
    assert!(set.names()[31..].iter().all(|n| n.starts_with("mtf_")));
    assert_eq!(set.names()[31], "mtf_5m_return");
    assert_eq!(set.names()[49], "mtf_trend_alignment");
}

#[test]
fn the_hash_is_a_pinned_function_of_the_definitions() {
    // Pinned: if this changes on some machine or after a refactor, every trained
    // model's manifest check would break — bump the set version on purpose instead.
    // Cross-checked with Python: sha256(json.dumps(m, sort_keys=True,
    // separators=(",", ":"))) of the manifest without "hash" gives the same value.
    let core = FeatureSet::core31().manifest();
    assert_eq!(
        core.hash,
        "sha256:3f94ce9a4b88fcbeafefd19b07f88c2c9c8a508cc2762dd66a35672719f1d0da"
    );
    assert_eq!(core.hash, FeatureSet::core31().manifest().hash);
    assert_ne!(core.hash, FeatureSet::mtf50().manifest().hash);
    assert_eq!(core.warmup_bars, 120);
}

#[test]
fn any_change_of_name_order_or_parameter_changes_the_hash() {
    let base = FeatureSet::core31();
    let hash = |set: &FeatureSet| set.manifest().hash;
    let defs = base.features().to_vec();
    let h0 = hash(&FeatureSet::new("custom", 1, defs.clone()).unwrap());

    let mut renamed = defs.clone();
    renamed[0] = FeatureDef::named("tokyo", renamed[0].kind().clone());
    let mut reordered = defs.clone();
    reordered.swap(0, 1);
    let mut reparam = defs.clone();
    reparam[20] = FeatureDef::named("rsi", FeatureKind::Rsi(Rsi { window: 15 }));
    let mut fewer = defs.clone();
    fewer.pop();
    let variants = [
        FeatureSet::new("custom", 1, renamed).unwrap(),
        FeatureSet::new("custom", 1, reordered).unwrap(),
        FeatureSet::new("custom", 1, reparam).unwrap(),
        FeatureSet::new("custom", 1, fewer).unwrap(),
        FeatureSet::new("custom", 2, defs.clone()).unwrap(),
        FeatureSet::new("custom2", 1, defs).unwrap(),
    ];
    let mut hashes: Vec<String> = variants.iter().map(hash).collect();
    hashes.push(h0);
    let n = hashes.len();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), n, "every variant has its own hash");
}

#[test]
fn manifest_json_round_trips_and_detects_tampering() {
    let manifest = FeatureSet::mtf50().manifest();
    let json = manifest.to_json_pretty();
    let back = FeatureManifest::from_json(&json).unwrap();
    assert_eq!(back, manifest);
    assert_eq!(back.names().len(), 50);
    let tampered = json.replacen("\"window\": 14", "\"window\": 15", 1);
    assert!(matches!(
        FeatureManifest::from_json(&tampered),
        Err(FeatureError::ManifestHash { .. })
    ));
    assert!(matches!(
        FeatureManifest::from_json("{}"),
        Err(FeatureError::ManifestFormat(_))
    ));
}

#[test]
fn canonical_form_sorts_keys_and_formats_numbers_fixed() {
    let manifest = FeatureSet::core31().manifest();
    let canonical = manifest.canonical();
    assert!(canonical.starts_with("{\"features\":[{\"family\":\"session_tokyo\""));
    assert!(canonical.contains("\"params\":{\"std\":2.0,\"window\":20}"));
    assert!(!canonical.contains(' '));
}

#[test]
fn unknown_set_names_list_the_built_in_sets() {
    let err = FeatureSet::load("core32").unwrap_err();
    assert!(matches!(err, FeatureError::UnknownSet { .. }));
    let msg = err.to_string();
    assert!(msg.contains("core31") && msg.contains("mtf50"), "{msg}");
    assert!(FeatureSet::builtin("mtf50").is_ok());
    let missing = FeatureSet::load("does/not/exist.toml").unwrap_err();
    assert!(matches!(missing, FeatureError::ReadSet { .. }), "{missing}");
}

#[test]
fn custom_set_from_toml_expands_lists_and_sets_parameters() {
    let set = FeatureSet::from_toml_str(
        r#"
        name = "my_set"
        version = 3
        features = [
          "session_london",
          "sma_7",
          { sma = [5, 10, 200] },
          { rsi = { window = 21, name = "rsi_21" } },
          "rsi",
          { bb_width = { window = 30, std = 2.5 } },
          { mtf_rsi = ["15m", "1h"] },
          { macd = { fast = 5 } },
        ]
        "#,
    )
    .unwrap();
    assert_eq!(
        set.names(),
        [
            "session_london",
            "sma_7",
            "sma_5",
            "sma_10",
            "sma_200",
            "rsi_21",
            "rsi",
            "bb_width",
            "mtf_15m_rsi",
            "mtf_1h_rsi",
            "macd"
        ]
    );
    assert_eq!(set.version(), 3);
    assert_eq!(
        set.features()[5].kind(),
        &FeatureKind::Rsi(Rsi { window: 21 })
    );
    assert_eq!(set.features()[4].warmup_bars(), 199);
    let manifest = set.manifest();
    assert_eq!(manifest.warmup_bars, 199);
    assert_eq!(manifest.timeframe_warmup_bars["1h"], 13);
}

#[test]
fn unknown_feature_is_named_with_the_valid_families() {
    let err = FeatureSet::from_toml_str(
        r#"name = "x"
features = ["rsi", "rsii"]"#,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("features[2]: unknown feature `rsii`"), "{msg}");
    assert!(
        msg.contains("bb_position") && msg.contains("mtf_trend_alignment"),
        "{msg}"
    );
}

#[test]
fn unknown_parameter_is_named_with_the_valid_parameters() {
    let err = FeatureSet::from_toml_str(
        r#"name = "x"
features = [{ macd = { fast = 5, slw = 30 } }]"#,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("macd: unknown parameter `slw`"), "{msg}");
    assert!(msg.contains("fast, slow, signal"), "{msg}");
}

#[test]
fn wrong_types_and_ranges_are_reported() {
    let err = FeatureSet::from_toml_str(
        r#"name = "x"
features = [
  { rsi = { window = "14" } },
  { sma = [0] },
  { bb_high = { std = -1.0 } },
  { mtf_rsi = ["2m"] },
  { rsi = [14] },
  42,
  { macd = { fast = 30 } },
]"#,
    )
    .unwrap_err();
    let issues = issues(err);
    assert_eq!(issues.len(), 7, "{issues:#?}");
    assert!(matches!(&issues[0], SetIssue::WrongType { at, .. } if at == "rsi.window"));
    assert!(matches!(&issues[1], SetIssue::InvalidValue { at, .. } if at == "sma.window"));
    assert!(matches!(&issues[2], SetIssue::InvalidValue { at, .. } if at == "bb_high.std"));
    assert!(matches!(&issues[3], SetIssue::InvalidValue { message, .. } if message.contains("2m")));
    assert!(matches!(&issues[4], SetIssue::WrongType { found, .. } if found == "an array"));
    assert!(matches!(&issues[5], SetIssue::WrongType { at, .. } if at == "features[6]"));
    assert!(
        matches!(&issues[6], SetIssue::InvalidValue { message, .. } if message.contains("fast (30) must be smaller than slow (26)"))
    );
}

#[test]
fn duplicate_names_are_reported_with_both_positions() {
    let err = FeatureSet::from_toml_str(
        r#"name = "x"
features = ["sma_7", { sma = [7] }]"#,
    )
    .unwrap_err();
    assert_eq!(
        issues(err),
        vec![SetIssue::DuplicateName {
            name: "sma_7".to_string(),
            first: 1,
            second: 2
        }]
    );
}

#[test]
fn structural_problems_are_all_reported_together() {
    let err = FeatureSet::from_toml_str("version = 0\nfeaturs = []").unwrap_err();
    let issues = issues(err);
    assert!(issues.contains(&SetIssue::UnknownKey {
        key: "featurs".to_string()
    }));
    assert!(issues.contains(&SetIssue::MissingKey { key: "name" }));
    assert!(issues.contains(&SetIssue::MissingKey { key: "features" }));
    assert!(issues
        .iter()
        .any(|i| matches!(i, SetIssue::InvalidValue { at, .. } if at == "version")));

    let syntax = FeatureSet::from_toml_str("name = ").unwrap_err();
    assert!(matches!(&issues_of(syntax)[0], SetIssue::Syntax(_)));
    let reserved =
        FeatureSet::from_toml_str("name = \"core31\"\nfeatures = [\"rsi\"]").unwrap_err();
    assert!(reserved.to_string().contains("reserved"), "{reserved}");
    let empty = FeatureSet::from_toml_str("name = \"x\"\nfeatures = []").unwrap_err();
    assert_eq!(issues_of(empty), vec![SetIssue::Empty]);
    let column =
        FeatureSet::from_toml_str("name = \"x\"\nfeatures = [{ rsi = { name = \"ts\" } }]")
            .unwrap_err();
    assert!(
        column.to_string().contains("reserved for export columns"),
        "{column}"
    );
    let required = FeatureSet::from_toml_str("name = \"x\"\nfeatures = [\"sma\"]").unwrap_err();
    assert!(
        required
            .to_string()
            .contains("sma: missing parameter `window`"),
        "{required}"
    );
}

fn issues_of(err: FeatureError) -> Vec<SetIssue> {
    issues(err)
}

#[test]
fn custom_sets_load_from_a_file() {
    let dir = std::env::temp_dir().join(format!("gauntlet-features-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("small.toml");
    std::fs::write(&path, "name = \"small\"\nfeatures = [\"rsi\", \"atr\"]\n").unwrap();
    let set = FeatureSet::load(path.to_str().unwrap()).unwrap();
    assert_eq!(set.names(), ["rsi", "atr"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
