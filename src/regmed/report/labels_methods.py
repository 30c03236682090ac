"""Labels of the report's methods table: each analysis with the R function that gives the same
numbers, and the documented conventions where regmed deliberately differs from R.

The R functions named are those the test suite checks each method against
(``tests/reference/``); the sizes of the differences are those measured there.
"""

from __future__ import annotations

__all__ = ["METHODS_LABELS"]

#: key -> (English, Japanese)
METHODS_LABELS: dict[str, tuple[str, str]] = {
    "methods_title": ("Methods and their R equivalents", "解析手法と対応する R の関数"),
    "methods_note": (
        "Each analysis ran as the locked plan declares; the same numbers are given by the R "
        "functions named (checked on stored reference data). The analysis data sets exported "
        "with the evaluation let anyone re-run them.",
        "各解析は固定された評価計画のとおりに実行した。表に示す R の関数は同じ数値を与える"
        "（保存された参照データで検証済み）。評価とともに出力した解析データセットにより、"
        "誰でも再実行できる。"),
    "methods_analysis": ("Analysis", "解析"),
    "methods_spec": ("As run", "実行内容"),
    "methods_r": ("R equivalent", "対応する R の関数"),
    "r_propensity_matching": (
        "MatchIt::matchit(method = \"nearest\", distance = \"glm\") (MatchIt ≥ 4.7); effect by "
        "lm/glm in the matched sample with sandwich::vcovCL(cluster = ~subclass)",
        "MatchIt::matchit(method = \"nearest\", distance = \"glm\")（MatchIt 4.7 以降）。"
        "効果はマッチング標本での lm/glm と sandwich::vcovCL(cluster = ~subclass)"),
    "r_propensity_weighting": (
        "WeightIt's weights (ATT, ATE, ATO) from a glm propensity score; effect by weighted "
        "lm/glm with sandwich::vcovHC(type = \"HC0\")",
        "glm 傾向スコアによる WeightIt の重み（ATT・ATE・ATO）。効果は重み付き lm/glm と "
        "sandwich::vcovHC(type = \"HC0\")"),
    "r_exact_matching": (
        "MatchIt::matchit(method = \"exact\"); effect by lm/glm with sandwich::vcovHC(HC0)",
        "MatchIt::matchit(method = \"exact\")。効果は lm/glm と sandwich::vcovHC(HC0)"),
    "r_propensity_stratification": (
        "MatchIt::matchit(method = \"subclass\", subclass = k) with the estimand's subclass "
        "weights; effect by weighted lm/glm with sandwich::vcovHC(HC0)",
        "MatchIt::matchit(method = \"subclass\", subclass = k) と推定対象に応じたサブクラス重み。"
        "効果は重み付き lm/glm と sandwich::vcovHC(HC0)"),
    "r_propensity_covariate": (
        "glm(outcome ~ treated + qlogis(ps)) and g-computation of the marginal effect with the "
        "HC0 delta-method SE (the formula of marginaleffects::avg_comparisons)",
        "glm(outcome ~ treated + qlogis(ps)) と g-computation による周辺効果、HC0 デルタ法の"
        "標準誤差（marginaleffects::avg_comparisons の式）"),
    "r_covariate_adjustment": (
        "glm(outcome ~ treated + covariates) and g-computation of the marginal effect with the "
        "HC0 delta-method SE (the formula of marginaleffects::avg_comparisons)",
        "glm(outcome ~ treated + covariates) と g-computation による周辺効果、HC0 デルタ法の"
        "標準誤差（marginaleffects::avg_comparisons の式）"),
    "r_none": (
        "unadjusted: lm/glm with sandwich::vcovHC(HC0); single arm: binom.test, t.test, "
        "survival::survfit",
        "調整なし: lm/glm と sandwich::vcovHC(HC0)。単群: binom.test、t.test、"
        "survival::survfit"),
    "r_survival": (
        "Hazard ratio: survival::coxph(ties = \"efron\", weights), robust variance clustered on "
        "the matched sets (cluster = subclass) after matching, robust = TRUE otherwise; "
        "Kaplan–Meier: survival::survfit.",
        "ハザード比: survival::coxph(ties = \"efron\", weights)。マッチング後はマッチング組で"
        "クラスタ化したロバスト分散（cluster = subclass）、それ以外は robust = TRUE。"
        "Kaplan–Meier: survival::survfit。"),
    "r_mi": (
        "Multiple imputation: mice, then MatchThem::matchthem/weightthem + with() + pool().",
        "多重代入: mice の後、MatchThem::matchthem/weightthem + with() + pool()。"),
    "r_interim": (
        "Interim design: rpact::getAnalysisResults (repeated CIs, stage-wise ordering).",
        "中間解析デザイン: rpact::getAnalysisResults（反復信頼区間、段階順序付け）。"),
    "conventions_title": ("Documented conventions that differ from R",
                          "R と異なる点（文書化された規約）"),
    "conv_power_rates": (
        "Power for rates by the normal approximation, two-sided: rpact's drift in both "
        "rejection regions (as rpact::getPowerRates); the exact lower tail is larger by about "
        "3e-6.",
        "比率の検出力（正規近似、両側）: 両側の棄却域に rpact のドリフトを用いる"
        "（rpact::getPowerRates と同じ）。厳密な下側確率はおよそ 3e-6 大きい。"),
    "conv_survival_times": (
        "Group-sequential survival sample size: analysis times are solved exactly; rpact finds "
        "them to 1e-6 (differences up to 3.3e-7 relative).",
        "群逐次生存時間デザインの例数: 解析時点を厳密に解く。rpact は 1e-6 の精度で求める"
        "（相対差は最大 3.3e-7）。"),
    "conv_profile_ci": (
        "Variance-component profile intervals: the exact profile; lme4 interpolates its "
        "profile by splines (differences up to 1.7e-4 relative).",
        "分散成分のプロファイル信頼区間: 厳密なプロファイル。lme4 はスプライン補間する"
        "（相対差は最大 1.7e-4）。"),
    "conv_repeated_p": (
        "Repeated p-values below 1e-5: found to full precision; rpact's search stops at its "
        "tolerance.",
        "1e-5 未満の反復 p 値: 完全な精度で求める。rpact の探索は許容誤差で停止する。"),
    "conv_mi_df": (
        "Rubin's rules: the complete-data degrees of freedom of the fit with the fewest rows, "
        "as MatchThem's pool() (mice::pool takes the first fit's).",
        "Rubin のルール: 完全データの自由度は行数が最も少ない当てはめのもの"
        "（MatchThem の pool() と同じ。mice::pool は最初の当てはめを用いる）。"),
}
