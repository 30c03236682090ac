"""Every word the report prints, in English and Japanese.

The HTML report takes all of its labels from :data:`LABELS`; ``lang`` picks the column.
Figures keep English axis labels (matplotlib's default fonts have no Japanese glyphs).
Values coming from the document (endpoint names, reasons, messages) are printed as stored.
"""

from __future__ import annotations

from regmed.errors import RegmedError
from regmed.report.labels_methods import METHODS_LABELS
from regmed.report.labels_sequential import SEQUENTIAL_LABELS

__all__ = ["LABELS", "LANGUAGES", "labels_for"]

LANGUAGES = ("en", "ja")

#: key -> (English, Japanese)
_TABLE: dict[str, tuple[str, str]] = {
    # document
    "title": ("Post-marketing efficacy evaluation", "製造販売後有効性評価報告書"),
    "exploratory_banner": (
        "EXPLORATORY — not the pre-registered confirmatory evaluation",
        "探索的解析 — 事前登録された検証的評価ではありません",
    ),
    "exploratory_mark": ("EXPLORATORY", "探索的"),
    "product": ("Product", "製品"),
    "indication": ("Indication", "効能・効果"),
    "contents": ("Contents", "目次"),
    # sections
    "sec_verdict": ("1. Verdict against the pre-set achievement criteria",
                    "1. 事前に定めた達成基準に対する判定"),
    "sec_plan": ("2. Evaluation plan and checklist", "2. 評価計画とチェックリスト"),
    "sec_attrition": ("3. Patient flow (attrition)", "3. 患者フロー（除外の経過）"),
    "sec_balance": ("4. Comparability of the groups", "4. 群間の比較可能性"),
    "sec_effect": ("5. Effect estimates", "5. 効果の推定"),
    "sec_km": ("6. Kaplan–Meier curves", "6. Kaplan–Meier 曲線"),
    "sec_sensitivity": ("7. Sensitivity analyses", "7. 感度分析"),
    "sec_quality": ("8. Product quality and response", "8. 製品品質と有効性"),
    "sec_provenance": ("9. Provenance", "9. 再現性のための記録"),
    # verdict
    "overall_verdict": ("Overall verdict", "総合判定"),
    "verdict_met": ("MET", "達成"),
    "verdict_not_met": ("NOT MET", "未達成"),
    "verdict_inconclusive": ("INCONCLUSIVE", "判定不能"),
    "criterion": ("Criterion", "達成基準"),
    "endpoint": ("Endpoint", "評価項目"),
    "control_source": ("Controls", "対照"),
    "measure": ("Measure", "効果指標"),
    "estimate_ci": ("Estimate (CI at the planned level)", "推定値（計画の信頼水準の信頼区間）"),
    "result": ("Result", "結果"),
    "reason": ("Reason", "根拠"),
    "met": ("Met", "達成"),
    "not_met": ("Not met", "未達成"),
    "statement": ("Statement", "判定理由"),
    "crit_ci_greater": ("lower {level} CI limit > {threshold}",
                        "{level}信頼区間の下限 > {threshold}"),
    "crit_ci_less": ("upper {level} CI limit < {threshold}",
                     "{level}信頼区間の上限 < {threshold}"),
    "crit_pt_greater": ("estimate ≥ {threshold}", "点推定値 ≥ {threshold}"),
    "crit_pt_less": ("estimate ≤ {threshold}", "点推定値 ≤ {threshold}"),
    "crit_and": (" and ", "かつ"),
    "shortfall_title": ("Sample-size shortfall", "症例数の不足"),
    "shortfall_text": (
        "Enrolled {n_treated} treated (planned {planned_n_treated}) and {n_control} control "
        "patients (planned {planned_n_control}). Achieved power {achieved_power} against "
        "{planned_power} planned: the pre-set achievement criteria cannot be met with the "
        "planned certainty.",
        "治療群 {n_treated} 例（計画 {planned_n_treated} 例）、対照群 {n_control} 例（計画 "
        "{planned_n_control} 例）。達成された検出力は {achieved_power}（計画 {planned_power}）"
        "であり、事前に定めた達成基準を計画どおりの確からしさで満たすことはできません。",
    ),
    "power_line": ("Sample size and power", "症例数と検出力"),
    "warnings": ("Warnings", "警告"),
    "no_criteria": ("No achievement criteria in the document.", "達成基準が記録されていません。"),
    # plan
    "plan_name": ("Plan", "評価計画"),
    "plan_version": ("Version", "版"),
    "locked_at": ("Locked at", "固定日時"),
    "signer": ("Signed by", "署名者"),
    "signature_meaning": ("meaning", "署名の意味"),
    "objective": ("Objective", "目的"),
    "design": ("Design", "デザイン"),
    "endpoints": ("Endpoints", "評価項目"),
    "planned_n": ("Planned sample size", "計画症例数"),
    "achieved_n": ("Achieved sample size", "達成症例数"),
    "planned_power": ("Planned power", "計画検出力"),
    "achieved_power": ("Achieved power", "達成検出力"),
    "treated": ("Treated", "治療群"),
    "control": ("Control", "対照群"),
    "checklist": ("Evaluation-index checklist", "評価指標チェックリスト"),
    "item": ("Item", "項目"),
    "point": ("Point", "観点"),
    "status": ("Status", "状態"),
    "message": ("Finding", "所見"),
    "reference": ("Reference", "根拠文書"),
    "source": ("Checked on", "確認対象"),
    "status_met": ("met", "適合"),
    "status_justified": ("justified", "理由あり"),
    "status_missing": ("missing", "記載なし"),
    "status_not_met": ("not met", "不適合"),
    "source_plan": ("plan", "計画"),
    "source_data": ("data", "データ"),
    # attrition
    "step": ("Step", "段階"),
    "cohort": ("Cohort", "コホート"),
    "n_before": ("Before", "除外前"),
    "n_excluded": ("Excluded", "除外"),
    "n_after": ("After", "除外後"),
    "cohort_treated": ("Treated", "治療群"),
    "cohort_concurrent": ("Concurrent controls", "同時対照"),
    "cohort_historical": ("Historical controls", "ヒストリカル対照"),
    "cohort_external": ("External controls", "外部対照"),
    "no_attrition": ("No attrition rows in the document.", "除外の記録がありません。"),
    # analyses
    "analysis": ("Analysis", "解析"),
    "analyses_sharing": ("Used by", "対象の解析"),
    "role": ("Role", "位置づけ"),
    "role_primary": ("primary", "主要"),
    "role_secondary": ("secondary", "副次"),
    "kind": ("Type", "種類"),
    "kind_binary": ("binary", "二値"),
    "kind_continuous": ("continuous", "連続"),
    "kind_survival": ("time to event", "イベント発生までの時間"),
    "source_concurrent": ("concurrent controls", "同時対照"),
    "source_historical": ("historical controls", "ヒストリカル対照"),
    "source_pooled": ("pooled controls", "併合対照"),
    "source_external": ("external controls", "外部対照"),
    "method": ("Adjustment", "調整方法"),
    "method_matching": ("PS matching", "傾向スコアマッチング"),
    "method_weighting": ("PS weighting", "傾向スコア重み付け"),
    "method_none": ("unadjusted", "調整なし"),
    "method_exact_matching": ("exact matching", "完全一致マッチング"),
    "method_stratification": ("PS stratification", "傾向スコア層別"),
    "method_ps_covariate": ("PS as covariate (g-computation)",
                            "傾向スコアを共変量とする回帰（g-computation）"),
    "method_regression": ("covariate adjustment (g-computation)",
                          "共変量調整回帰（g-computation）"),
    "method_single_arm": ("single arm vs performance goal", "単群（性能目標との比較）"),
    "source_none": ("no controls (single arm)", "対照なし（単群）"),
    "subclasses_n": ("subclasses", "層"),
    "no_ps_model": ("No propensity model: the covariates enter directly.",
                    "傾向スコアモデルなし：共変量を直接用いる。"),
    "spec_table": ("Analysis specifications (as locked) and analysis data sets",
                   "解析仕様（固定された計画どおり）と解析データセット"),
    "spec_method": ("Plan method", "計画の方法"),
    "estimand": ("Estimand", "推定対象"),
    "confidence_level": ("Confidence level", "信頼水準"),
    "missing_rule": ("Missing data", "欠測の扱い"),
    "covariates": ("Covariates", "共変量"),
    "analysis_data": ("Analysis data set", "解析データセット"),
    "spec_note": ("Each data set (CSV, beside this report) holds one row per analysed patient: "
                  "pseudonym, treated (0/1), the covariates as entered in the propensity model, "
                  "the outcome (or time and event), ps, weight and, where made, subclass — the "
                  "primary estimate can be re-run from it.",
                  "各データセット（本報告書と同じフォルダの CSV）は解析対象患者 1 人 1 行で、"
                  "仮名 ID、治療（0/1）、傾向スコアモデルに入れた共変量、アウトカム（または時間と"
                  "イベント）、ps、重み、作成された場合はサブクラスを含み、主解析の推定値を"
                  "再計算できる。"),
    "n_treated": ("n treated", "治療群 n"),
    "n_control": ("n control", "対照群 n"),
    "n": ("n", "n"),
    "ps_model": ("Propensity model", "傾向スコアモデル"),
    "auc": ("c-statistic (AUC)", "c 統計量（AUC）"),
    "equipoise": ("Equipoise (preference 0.3–0.7)", "均衡域（選好スコア 0.3–0.7）"),
    "n_modelled": ("Modelled", "モデル対象"),
    "baseline_table": ("Baseline characteristics before and after adjustment",
                       "調整前後の背景因子"),
    "covariate": ("Covariate", "共変量"),
    "before": ("Before", "調整前"),
    "after": ("After", "調整後"),
    "mean_treated": ("Treated", "治療群"),
    "mean_control": ("Control", "対照群"),
    "smd": ("SMD", "標準化差"),
    "var_ratio": ("Variance ratio", "分散比"),
    "balance_note": (
        "Means (proportions for binary covariates). |SMD| above 0.1 is flagged.",
        "平均（二値共変量は割合）。|標準化差| が 0.1 を超えるものを強調表示。",
    ),
    "love_plot": ("Love plot", "ラブプロット"),
    "ps_distribution": ("Propensity-score distributions", "傾向スコアの分布"),
    "effect_table": ("Adjusted effects", "調整済みの効果"),
    "p_value": ("p-value", "p 値"),
    "std_error": ("SE", "標準誤差"),
    "statistic": ("Statistic", "統計量"),
    "term": ("Term", "項"),
    "ci_lower": ("CI lower", "信頼区間下限"),
    "ci_upper": ("CI upper", "信頼区間上限"),
    "estimate": ("Estimate", "推定値"),
    "tidy_estimates": ("All estimates", "推定値の一覧"),
    "forest_plot": ("Forest plot by site and subgroup", "施設別・サブグループ別フォレストプロット"),
    "heterogeneity": ("Between-site heterogeneity", "施設間の異質性"),
    "heterogeneity_line": ("Q = {q} (df {df}), p = {p}, I² = {i2}",
                           "Q = {q}（自由度 {df}）、p = {p}、I² = {i2}"),
    "km_plot": ("Kaplan–Meier curves", "Kaplan–Meier 曲線"),
    "no_km": ("No time-to-event endpoint in this evaluation.",
              "この評価には時間-イベント型の評価項目はありません。"),
    "sensitivity": ("Sensitivity analysis", "感度分析"),
    "primary_analysis": ("Primary analysis", "主解析"),
    "note": ("Note", "備考"),
    "evalue": ("E-value", "E 値"),
    "evalue_point": ("E-value (estimate)", "E 値（点推定値）"),
    "evalue_ci": ("E-value (CI limit)", "E 値（信頼限界）"),
    "attribute": ("Attribute", "品質特性"),
    "tertile": ("Tertile", "三分位"),
    "range": ("Range", "範囲"),
    "responders": ("Responders", "奏効例"),
    "rate": ("Response rate (95% CI)", "奏効率（95%信頼区間）"),
    "no_quality": ("No quality tables in the document.", "品質の集計表がありません。"),
    # quality section
    "quality_title": ("Product quality report", "製品品質報告書"),
    "q_specs": ("Specifications and out-of-specification (OOS) lots",
                "規格と規格外（OOS）ロット"),
    "q_specs_summary": ("{n_oos} of {n_lots} lots out of specification",
                        "{n_lots} ロット中 {n_oos} ロットが規格外"),
    "q_lot": ("Lot", "ロット"),
    "q_value": ("Result", "試験結果"),
    "q_spec": ("Specification", "規格"),
    "q_failed": ("Failed attributes", "不適合の品質特性"),
    "q_flagged": ("Patients treated with OOS lots (flagged in every analysis)",
                  "規格外ロットを投与された患者（全解析で識別）"),
    "q_patient": ("Patient (pseudonym)", "患者（仮名化 ID）"),
    "q_request": ("OOS supply request documented", "規格外品供給の依頼記録"),
    "q_outcome": ("Outcome", "転帰"),
    "q_no_oos": ("No lot is out of specification.", "規格外のロットはありません。"),
    "q_series": ("Release results by lot over manufacturing time",
                 "製造時期別のロットごとの出荷試験結果"),
    "q_cqa": ("Critical quality attributes: lot attributes and clinical response",
              "重要品質特性：ロットの品質特性と臨床効果"),
    "q_cqa_note": ("Association of the lot's attribute with the outcome of the patients it "
                   "treated, per SD of the attribute ({scale}); lots as clusters; "
                   "Benjamini-Hochberg q-values across all attributes; * pre-specified in "
                   "the plan.",
                   "投与されたロットの品質特性と患者の転帰との関連"
                   "（品質特性 1 SD あたり、{scale}）。"
                   "ロットをクラスターとし、全品質特性にわたり Benjamini-Hochberg 法の q 値を示す。"
                   "* は計画で事前に規定した解析。"),
    "q_estimate": ("Estimate (95% CI)", "推定値（95%信頼区間）"),
    "q_p": ("p", "p 値"),
    "q_q": ("q (BH)", "q 値（BH）"),
    "q_n_patients": ("Patients", "患者数"),
    "q_n_lots": ("Lots", "ロット数"),
    "q_potency": ("Attribute → potency → clinical response", "品質特性 → 力価 → 臨床効果"),
    "q_potency_note": ("Left: lot-level regression of potency ({potency}) on each attribute "
                       "(per SD). Right: the potency's own association with response.",
                       "左：各品質特性（1 SD あたり）に対する力価（{potency}）のロット単位の回帰。"
                       "右：力価そのものと臨床効果との関連。"),
    "q_to_potency": ("Attribute → potency", "品質特性 → 力価"),
    "q_to_response": ("Potency → response", "力価 → 臨床効果"),
    "q_strata": ("Responder strata", "有効性が期待できる患者群（層別）"),
    "q_variable": ("Variable", "変数"),
    "q_level": ("Group", "群"),
    "q_variance": ("Variance components (donor-to-donor and lot-to-lot)",
                   "分散成分（ドナー間・ロット間）"),
    "q_component": ("Component", "成分"),
    "q_variance_col": ("Variance", "分散"),
    "q_sd": ("SD", "標準偏差"),
    "q_share": ("Share", "寄与率"),
    "q_control": ("Control charts (individuals / moving range)", "管理図（個々の値・移動範囲）"),
    "q_center": ("Centre", "中心線"),
    "q_limits": ("Control limits", "管理限界"),
    "q_signals": ("Signals", "シグナル"),
    "q_rules": ("Rules fired", "該当したルール"),
    "q_comparability": ("Comparability of process versions", "製造工程変更前後の同等性"),
    "q_comparability_head": ("Candidate process {candidate} against reference {reference}",
                             "参照工程 {reference} に対する変更後工程 {candidate}"),
    "q_difference": ("Difference (90% CI)", "差（90%信頼区間）"),
    "q_margin": ("Margin", "許容限界"),
    "q_sc": ("Single-cell heterogeneity of lots: cluster composition and potency",
             "ロットの単一細胞レベルの不均一性：クラスター構成と力価"),
    "q_sc_summary": ("{n_cells:,} cells from {n_lots} lots in {n_clusters} clusters; each "
                     "cluster's share across lots against {covariate} ({method}, permutation "
                     "p-values, BH q-values). Smallest correlation detectable with 80% power: "
                     "|r| = {mdr}.",
                     "{n_lots} ロット {n_cells:,} 細胞、{n_clusters} クラスター。各クラスターの"
                     "ロット間の構成比と {covariate} の関連（{method}、並べ替え検定の p 値、BH 法の"
                     " q 値）。検出力 80% で検出できる最小の相関：|r| = {mdr}。"),
    "q_cluster": ("Cluster", "クラスター"),
    "q_r": ("Correlation", "相関"),
    "q_stable": ("Stable (leave one lot out)", "安定（1 ロット除外）"),
    "q_sc_markers": ("Marker genes of cluster {cluster}", "クラスター {cluster} のマーカー遺伝子"),
    "q_sc_outliers": ("Lots whose composition deviates from the reference (Aitchison distance)",
                      "構成が基準から外れたロット（Aitchison 距離）"),
    "q_none": ("none", "なし"),
    "q_equivalent": ("Equivalent", "同等"),
    "q_method": ("Method", "方法"),
    "q_tertiles": ("Response by tertile of the attribute (descriptive)",
                   "品質特性の三分位別の奏効率（記述的）"),
    "q_notes": ("Notes", "注記"),
    "yes": ("yes", "はい"),
    "no": ("no", "いいえ"),
    # provenance
    "evaluation_id": ("Evaluation id", "評価 ID"),
    "created_at": ("Created at", "作成日時"),
    "regmed_version": ("regmed version", "regmed のバージョン"),
    "seed": ("Random seed", "乱数シード"),
    "data_hash": ("Data hash", "データのハッシュ"),
    "plan_sha256": ("Plan lock hash (SHA-256)", "計画の固定ハッシュ（SHA-256）"),
    "provenance_note": (
        "Every number in this report is read from the stored evaluation; the report computes "
        "nothing. The evaluation can be reproduced from the locked plan, the data with the hash "
        "above, this regmed version and this seed.",
        "本報告書の数値はすべて保存された評価結果から読み込んだものであり、報告書自体は計算を"
        "行いません。固定された計画、上記ハッシュのデータ、この regmed のバージョンと乱数シードから"
        "評価を再現できます。",
    ),
    "missing": ("—", "—"),
    "figure_english_note": ("Figure labels are in English.", "図のラベルは英語で表記しています。"),
}

#: lang -> key -> text
LABELS: dict[str, dict[str, str]] = {
    lang: {key: pair[i] for key, pair in (_TABLE | SEQUENTIAL_LABELS | METHODS_LABELS).items()}
    for i, lang in enumerate(LANGUAGES)
}


def labels_for(lang: str) -> dict[str, str]:
    """Return the label table of ``lang`` ("en" or "ja").

    Raises
    ------
    regmed.errors.RegmedError
        For a language the report does not have.
    """
    if lang not in LABELS:
        raise RegmedError(f"Unknown report language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return LABELS[lang]
