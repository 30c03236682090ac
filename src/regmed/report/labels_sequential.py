"""Labels of the multiple-imputation and group-sequential (interim) blocks of the report."""

from __future__ import annotations

__all__ = ["SEQUENTIAL_LABELS"]

#: key -> (English, Japanese)
SEQUENTIAL_LABELS: dict[str, tuple[str, str]] = {
    "mi_title": ("Multiple imputation (pooled by Rubin's rules)",
                 "多重代入（Rubin のルールで統合）"),
    "mi_line": ("{m} imputed data sets (chained equations, seed {seed}, {iterations} "
                "iterations); the propensity step and the effect were run within each data "
                "set. Fraction of missing information of {term}: {fmi}; degrees of freedom "
                "{df}.",
                "{m} 個の代入データセット（連鎖方程式、シード {seed}、反復 {iterations} 回）。"
                "傾向スコアの段階と効果推定を各データセット内で実施した。{term} の欠測情報の"
                "割合: {fmi}、自由度 {df}。"),
    "mi_missing": ("Missing values imputed", "代入した欠測値"),
    "mi_data": ("imputed data sets", "代入データセット"),
    "mi_pooling": ("Pooling (mice::pool components)", "統合（mice::pool の構成要素）"),
    "mi_within": ("within-imputation variance Ū", "代入内分散 Ū"),
    "mi_between": ("between-imputation variance B", "代入間分散 B"),
    "fmi": ("FMI", "欠測情報の割合"),
    "gs_title": ("Group-sequential analysis of the planned interim design",
                 "計画された中間解析デザインによる群逐次解析"),
    "gs_line": ("Design: {spending} spending, information rates {rates}, one-sided alpha "
                "{alpha}; H0: {measure} {op} {theta}. Decision: {decision}.",
                "デザイン: {spending} 型 α 消費関数、情報割合 {rates}、片側 α {alpha}。"
                "帰無仮説: {measure} {op} {theta}。判定: {decision}。"),
    "gs_look": ("Look", "解析時点"),
    "gs_cut": ("Data cut", "データカットオフ"),
    "gs_information": ("Information rate", "情報割合"),
    "gs_all_data": ("all data", "全データ"),
    "gs_boundary": ("Boundary (z)", "境界値（z）"),
    "gs_z": ("z", "z"),
    "gs_action": ("Action", "判定"),
    "gs_rci": ("Repeated CI", "反復信頼区間"),
    "gs_repeated_p": ("Repeated p", "反復 p 値"),
    "gs_final": ("Final (stage-wise ordering, stage {stage}): p = {p}; median unbiased "
                 "estimate {est} ({ci}).",
                 "最終推測（段階順序、第 {stage} 段階）: p = {p}、中央値不偏推定値 {est}"
                 "（{ci}）。"),
    "gs_no_final": ("No final inference yet: the study continues to its next look.",
                    "最終推測はまだない。次の解析時点まで継続する。"),
    "gs_decision_reject": ("boundary crossed (H0 rejected)", "境界を超えた（帰無仮説を棄却）"),
    "gs_decision_accept": ("no boundary crossed", "境界を超えなかった"),
    "gs_decision_continue": ("continue to the next look", "次の解析時点へ継続"),
}
