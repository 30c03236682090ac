"""Bilingual (Japanese / English) labels for every key, value, item and status of the plan.

The Japanese terms follow the evaluation index (``seeds/000``): 症例数, 評価実施施設数,
評価項目の客観性, 症例のランダム化, 評価の盲検化, 対照群の設定と方向, 使用成績調査等の選択の
妥当性, 達成基準, 中央判定委員会, 製造販売後有効性評価マネジメントプラン.
"""

from __future__ import annotations

__all__ = [
    "FIELD_LABELS",
    "VALUE_LABELS",
    "ITEM_LABELS",
    "POINT_LABELS",
    "STATUS_LABELS",
    "FIELD_VALUE_LABELS",
    "ENUMERATED_FIELDS",
    "field_label",
    "value_label",
    "item_label",
    "point_label",
    "status_label",
]

Pair = tuple[str, str]  # (ja, en)

FIELD_LABELS: dict[str, Pair] = {
    "title": ("表題", "Title"),
    "product": ("製品", "Product"),
    "name": ("名称", "Name"),
    "type": ("由来", "Origin"),
    "surgery": ("投与時の外科的手術", "Surgery at administration"),
    "route": ("投与経路", "Route"),
    "indication": ("効能・効果（対象疾患）", "Indication"),
    "approval": ("承認", "Approval"),
    "kind": ("種類", "Kind"),
    "date": ("日付", "Date"),
    "term_years": ("期限（年）", "Term (years)"),
    "study_type": ("評価の形態", "Type of evaluation"),
    "endpoints": ("評価項目", "Endpoints"),
    "id": ("識別子", "Identifier"),
    "role": ("位置づけ", "Role"),
    "definition": ("定義", "Definition"),
    "objective": ("客観的評価項目", "Objective"),
    "objective_justification": ("客観的でない理由", "Why not objective"),
    "assessor": ("評価者", "Assessor"),
    "assessor_justification": ("主治医評価の必要性・妥当性", "Why the treating physician assesses"),
    "standardization": ("評価法の標準化", "Standardization of assessment"),
    "natural_history": ("自然歴（自然治癒）", "Natural history (natural recovery)"),
    "rate": ("割合", "Rate"),
    "mean": ("平均", "Mean"),
    "median_time": ("中央値（時間）", "Median time"),
    "source": ("出典・データ源", "Source"),
    "better": ("良い方向", "Better direction"),
    "unit": ("単位", "Unit"),
    "event": ("イベント定義", "Event definition"),
    "time_origin": ("起算日", "Time origin"),
    "censoring": ("打ち切り", "Censoring"),
    "time_unit": ("時間の単位", "Time unit"),
    "measurement": ("測定", "Measurement"),
    "variable": ("変数", "Variable"),
    "baseline_visit": ("ベースライン来院", "Baseline visit"),
    "outcome_visit": ("評価来院", "Outcome visit"),
    "day": ("日", "Day"),
    "window": ("許容幅（日）", "Window (days)"),
    "derivation": ("導出方法", "Derivation"),
    "threshold": ("閾値", "Threshold"),
    "assessor_roles": ("評価者の役割", "Assessor roles"),
    "achievement_criteria": ("達成基準", "Achievement criteria"),
    "endpoint": ("評価項目", "Endpoint"),
    "measure": ("効果指標", "Measure"),
    "ci_lower_above": ("信頼区間下限がこれを上回る", "CI lower bound above"),
    "ci_upper_below": ("信頼区間上限がこれを下回る", "CI upper bound below"),
    "confidence_level": ("信頼水準", "Confidence level"),
    "direction": ("方向", "Direction"),
    "sample_size": ("症例数", "Sample size"),
    "method": ("方法", "Method"),
    "assumptions": ("設定の前提", "Assumptions"),
    "p_treated": ("製品群の割合", "Rate, treated"),
    "p_control": ("対照群の割合", "Rate, control"),
    "alpha": ("有意水準", "Significance level"),
    "power": ("検出力", "Power"),
    "sided": ("片側・両側", "Sides"),
    "allocation_ratio": ("割付比（製品群／対照群）", "Allocation ratio (treated/control)"),
    "difference": ("差", "Difference"),
    "sd": ("標準偏差", "Standard deviation"),
    "hazard_ratio": ("ハザード比", "Hazard ratio"),
    "median_control": ("対照群の中央値", "Median, control"),
    "lambda_control": ("対照群のハザード", "Hazard, control"),
    "accrual_time": ("登録期間", "Accrual time"),
    "follow_up_time": ("追跡期間", "Follow-up time"),
    "dropout_rate": ("脱落率", "Dropout rate"),
    "dropout_time": ("脱落率の基準時点", "Dropout time"),
    "p0": ("閾値割合", "Null rate"),
    "p1": ("期待割合", "Expected rate"),
    "n_treated": ("製品群の症例数", "Treated patients"),
    "n_control": ("対照群の症例数", "Control patients"),
    "events": ("イベント数", "Events"),
    "interim": ("中間解析", "Interim analysis"),
    "information_rates": ("情報量の割合", "Information rates"),
    "spending": ("α消費関数", "Alpha spending"),
    "futility": ("無益性の基準", "Futility rule"),
    "reestimation": ("症例数再設計", "Sample-size re-estimation"),
    "rule": ("規則", "Rule"),
    "max_n_treated": ("製品群の最大症例数", "Maximum treated"),
    "max_n_control": ("対照群の最大症例数", "Maximum control"),
    "at_information_rate": ("実施時の情報量", "At information rate"),
    "conditional_power_target": ("目標条件付き検出力", "Target conditional power"),
    "description": ("説明", "Description"),
    "justification": ("妥当性の説明", "Justification"),
    "sites": ("評価実施施設", "Sites"),
    "count": ("施設数", "Number of sites"),
    "names": ("施設名", "Site names"),
    "randomization": ("症例のランダム化", "Randomization"),
    "feasible": ("実施可能", "Feasible"),
    "placebo_effect_handling": (
        "ホーソン効果・プラセボ効果への対処",
        "Handling of Hawthorne and placebo effects",
    ),
    "blinding": ("評価の盲検化", "Blinding"),
    "assessor_blinded": ("評価者盲検", "Assessor blinded"),
    "central_committee": ("中央判定委員会", "Central adjudication committee"),
    "multiple_assessors": ("複数の評価者", "Multiple assessors"),
    "adjudication": ("中央判定の手順", "Central adjudication procedure"),
    "reviewers": ("独立判定者数", "Independent adjudicators per event"),
    "consensus": ("判定不一致時の合意", "Consensus on disagreement"),
    "chair": ("判定委員長", "Committee chair"),
    "categories": ("判定区分", "Coded verdicts"),
    "controls": ("対照群", "Control groups"),
    "validated_registry": ("バリデートされたデータベース", "Validated database"),
    "period": ("データ収集期間", "Collection period"),
    "start": ("開始", "Start"),
    "end": ("終了", "End"),
    "period_justification": ("期間が網羅しない理由", "Why the period does not cover"),
    "adjustment": ("背景の調整", "Adjustment"),
    "covariates": ("予後因子（共変量）", "Prognostic covariates"),
    "caliper": ("キャリパー", "Caliper"),
    "ratio": ("マッチング比", "Matching ratio"),
    "estimand": ("推定対象", "Estimand"),
    "subclasses": ("傾向スコア層の数", "Number of propensity-score subclasses"),
    "data_availability_confirmed": ("必要なデータの存在を確認済み", "Data availability confirmed"),
    "era_adjustment": ("時代背景の影響への対処", "Era adjustment"),
    "feasibility": ("対照データ収集の実現可能性", "Feasibility of control collection"),
    "control_justification": ("対照群設定の妥当性", "Justification of the control strategy"),
    "treated_period": ("製品群のデータ収集期間", "Treated collection period"),
    "use_results_survey_justification": (
        "使用成績調査等の選択の妥当性",
        "Why a use-results survey",
    ),
    "severity": ("対象疾患の重篤度", "Severity"),
    "patient_count": ("対象疾患患者数", "Number of patients"),
    "qol": ("患者の QOL", "Quality of life"),
    "alternatives": ("代替治療法の有無", "Alternative treatments"),
    "quality_efficacy_analyses": ("品質特性と有効性の解析", "Quality–efficacy analyses"),
    "attribute": ("品質特性", "Quality attribute"),
    "purpose": ("目的", "Purpose"),
    "scale": ("解析の尺度", "Scale of the attribute"),
    "adjust": ("調整する患者背景因子", "Adjusted for"),
    "strata": ("層別する患者背景", "Responder strata"),
    "quality_understanding": (
        "不均一性・作用機序・ドナー間差の理解の計画",
        "Plan to understand heterogeneity, mechanism and donor spread",
    ),
    "heterogeneity": ("細胞集団の不均一性", "Heterogeneity of the cell population"),
    "mechanism_cqa": (
        "主たる作用機序と有効性に関連する重要品質特性",
        "Main mechanism and efficacy-related CQAs",
    ),
    "donor_variability": ("ドナー間差による品質のばらつき", "Quality spread between donors"),
    "management_plan": (
        "製造販売後有効性評価マネジメントプラン",
        "Efficacy-evaluation management plan",
    ),
    "risks": ("リスク", "Risks"),
    "mitigations": ("管理方策", "Mitigations"),
    "subgroup_analyses": ("部分集団・層別解析", "Subgroup and stratified analyses"),
    "levels": ("水準", "Levels"),
    "rationale": ("根拠", "Rationale"),
    "missing_data": ("欠測データの取扱い", "Missing-data handling"),
    "primary": ("主たる方法", "Primary method"),
    "sensitivity": ("感度分析", "Sensitivity analyses"),
    "imputations": ("代入回数", "Number of imputations"),
    "seed": ("乱数シード", "Random seed"),
    "iterations": ("反復回数", "Iterations"),
    "sensitivity_analyses": ("事前に規定した感度分析", "Pre-specified sensitivity analyses"),
}

VALUE_LABELS: dict[str, Pair] = {
    "autologous": ("自己由来", "autologous"),
    "third_adjudicator": ("第三の判定者", "a third adjudicator"),
    "chair": ("判定委員長", "the committee chair"),
    "allogeneic": ("同種由来", "allogeneic"),
    "conditional": ("条件及び期限付承認", "conditional and time-limited"),
    "full": ("承認", "full"),
    "use_results_survey": ("使用成績調査", "use-results survey"),
    "post_marketing_trial": ("製造販売後臨床試験", "post-marketing clinical trial"),
    "primary": ("主要", "primary"),
    "secondary": ("副次", "secondary"),
    "exploratory": ("探索的", "exploratory"),
    "binary": ("二値", "binary"),
    "continuous": ("連続量", "continuous"),
    "survival": ("生存時間", "time to event"),
    "blinded_central": ("盲検下の中央評価", "blinded central"),
    "blinded_independent": ("盲検下の独立評価者", "blinded independent"),
    "treating_physician": ("主治医", "treating physician"),
    "concurrent": ("同時対照", "concurrent"),
    "external": ("外部対照", "external"),
    "historical": ("ヒストリカル対照", "historical"),
    "prospective": ("前向き", "prospective"),
    "retrospective": ("後ろ向き", "retrospective"),
    "same": ("同一施設", "same sites"),
    "other": ("その他", "other"),
    "same_and_other": ("同一施設及び他施設", "same and other sites"),
    "equivalent": ("同等の施設", "equivalent sites"),
    "rates": ("割合の比較", "comparison of rates"),
    "means": ("平均の比較", "comparison of means"),
    "single_arm": ("単群（閾値との比較）", "single arm vs. a threshold"),
    "promising_zone": ("プロミシングゾーン法", "promising zone"),
    "conditional_power": ("条件付き検出力", "conditional power"),
    "blinded_variance": ("盲検下の分散推定", "blinded variance"),
    "propensity_matching": ("傾向スコアマッチング", "propensity-score matching"),
    "propensity_weighting": ("傾向スコア重み付け", "propensity-score weighting"),
    "propensity_stratification": ("傾向スコア層別", "propensity-score stratification"),
    "propensity_covariate": ("傾向スコアの共変量調整", "propensity score as covariate"),
    "covariate_adjustment": ("共変量調整", "covariate adjustment"),
    "exact_matching": ("完全マッチング", "exact matching"),
    "risk_difference": ("リスク差", "risk difference"),
    "risk_ratio": ("リスク比", "risk ratio"),
    "odds_ratio": ("オッズ比", "odds ratio"),
    "mean_difference": ("平均値の差", "mean difference"),
    "hazard_ratio": ("ハザード比", "hazard ratio"),
    "proportion": ("割合", "proportion"),
    "mean": ("平均", "mean"),
    "median_survival": ("生存期間中央値", "median survival"),
    "rmst_difference": ("制限付き平均生存時間の差", "RMST difference"),
    "greater": ("大きい方が良い", "greater is better"),
    "less": ("小さい方が良い", "less is better"),
    "higher": ("高い方が良い", "higher is better"),
    "lower": ("低い方が良い", "lower is better"),
    "mechanism": ("作用機序の理解", "mechanism of action"),
    "verify_cqa": ("重要品質特性の検証", "verify CQAs"),
    "new_cqa": ("新規重要品質特性の同定", "find new CQAs"),
    "biodistribution": ("体内動態・体内分布", "biodistribution"),
    "responders": ("有効性が期待できる患者群", "responders"),
    "technique": ("手技の改善・標準化", "technique"),
    "linear": ("原尺度", "linear"),
    "log": ("対数尺度", "log"),
    "complete_case": ("完全ケース解析", "complete cases"),
    "non_responder": ("非改善とみなす", "counted as non-responder"),
    "multiple_imputation": ("多重代入法", "multiple imputation"),
    "worst_case": ("最悪値代入", "worst case"),
    "ipcw": ("打ち切りの逆確率重み付け", "inverse probability of censoring weighting"),
    "ais_improvement": ("AIS グレードの改善", "AIS grade improvement"),
    "change": ("変化量", "change"),
    "change_at_least": ("一定以上の変化", "change of at least the threshold"),
    "value": ("測定値", "value"),
    "time_to_death": ("死亡までの時間", "time to death"),
    "days": ("日", "days"),
    "weeks": ("週", "weeks"),
    "months": ("月", "months"),
    "years": ("年", "years"),
    "True": ("はい", "yes"),
    "False": ("いいえ", "no"),
    "None": ("—", "—"),
}

ITEM_LABELS: dict[str, Pair] = {
    "1": ("（１）症例数", "(1) Sample size"),
    "2": ("（２）評価実施施設数", "(2) Number of sites"),
    "3": ("（３）評価項目の客観性", "(3) Objective endpoints"),
    "4": ("（４）症例のランダム化", "(4) Randomization"),
    "5": ("（５）評価の盲検化", "(5) Blinding"),
    "6": ("（６）対照群の設定と方向", "(6) Control group and direction"),
    "7": ("（７）使用成績調査等の選択の妥当性", "(7) Validity of a use-results survey"),
}

POINT_LABELS: dict[tuple[str, str], Pair] = {
    ("1", "size"): ("前提から症例数が導かれる", "Stated size follows from the assumptions"),
    ("1", "endpoint"): ("主要評価項目に基づく設定", "Sized on a primary endpoint"),
    ("1", "control_size"): ("対照群の症例数", "Size of the control group"),
    ("1", "assumptions"): ("対照群の前提と自然歴", "Assumed control rate vs natural history"),
    ("1", "interim"): ("中間解析による症例数再設計の手順", "Pre-specified re-estimation"),
    ("1", "enrolment"): ("登録症例数（データ）", "Enrolment (data)"),
    ("2", "count"): ("複数施設", "Several sites"),
    ("3", "primary"): ("主要評価項目", "Primary endpoint"),
    ("3", "objective"): ("客観的・定量的な評価項目", "Objective, quantitative endpoint"),
    ("3", "natural_history"): ("自然治癒の考慮", "Natural recovery considered"),
    ("3", "standardization"): ("評価者間・施設間の標準化", "Standardized across sites"),
    ("3", "event"): ("イベントの定義", "Event defined"),
    ("3", "criteria"): ("事前の達成基準", "Achievement criteria set in advance"),
    ("3", "criteria_level"): ("達成基準が自然治癒を上回る", "Criterion beyond natural recovery"),
    ("4", "randomization"): ("ランダム化又はその理由", "Randomized, or why not"),
    ("5", "assessor"): ("評価者盲検", "Assessor blinding"),
    ("5", "committee"): ("中央判定委員会", "Central adjudication committee"),
    ("5", "physician"): ("主治医による評価", "Treating-physician assessment"),
    ("5", "events"): ("イベント発生数の考慮", "Planned on event counts"),
    ("6", "A"): ("対照群の設定", "A control group is set"),
    ("6", "B"): ("同時期・前向き・同等施設の対照", "Concurrent prospective control"),
    ("6", "C"): ("同一施設対照の選択バイアス", "Selection bias of same-site controls"),
    ("6", "D1"): ("施設間の患者背景の差", "Background differences between sites"),
    ("6", "D2"): ("使用施設の限定", "Restricted sites"),
    ("6", "D3"): ("広く流通する製品での対照収集", "Controls for widely distributed products"),
    ("6", "D4"): ("ホーソン効果・プラセボ効果", "Hawthorne and placebo effects"),
    ("6", "D5"): ("全施設での標準化された評価", "Standardized assessment at every site"),
    ("6", "D6"): ("対照データ収集期間の網羅性", "Control period covers the treated period"),
    ("6", "D7"): ("予後因子と傾向スコアによる調整", "Prognostic factors, propensity scores"),
    ("6", "D8"): ("バリデートされたデータベース", "Validated database as source"),
    ("6", "E-data"): ("必要なデータの事前確認", "Needed data confirmed in advance"),
    ("6", "E-era"): ("時代背景の影響", "Era differences"),
    ("7", "A"): ("重篤度・患者数・QOL・代替治療", "Severity, patients, QOL, alternatives"),
    ("7", "B"): ("品質特性と有効性の相関解析", "Quality–efficacy analyses"),
    ("7", "C"): ("有効性評価マネジメントプラン", "Efficacy-evaluation management plan"),
}

#: Labels of a value that depend on the key it belongs to.
FIELD_VALUE_LABELS: dict[tuple[str, str], Pair] = {
    ("sites", "other"): ("他施設", "other sites"),
}

STATUS_LABELS: dict[str, Pair] = {
    "met": ("充足", "met"),
    "justified": ("説明あり", "justified"),
    "missing": ("記載なし", "missing"),
    "not_met": ("不充足", "not met"),
    "plan": ("計画", "plan"),
    "data": ("データ", "data"),
}


def _pick(pair: Pair | None, fallback: str, lang: str) -> str:
    if lang not in ("ja", "en"):
        raise ValueError(f"lang must be 'ja' or 'en', got {lang!r}")
    if pair is None:
        return fallback
    return pair[0] if lang == "ja" else pair[1]


def field_label(name: str, lang: str = "ja") -> str:
    """The label of a plan key (``n_control`` → 対照群の症例数 / Control patients)."""
    return _pick(FIELD_LABELS.get(name), name, lang)


def _enumerated_fields() -> frozenset[str]:
    """Keys whose values are choices (Literal) or yes/no: only those get value labels."""
    import typing

    from pydantic import BaseModel

    from regmed.plan import model

    def choice(annotation: object) -> bool:
        if annotation is bool or typing.get_origin(annotation) is typing.Literal:
            return True
        return any(choice(a) for a in typing.get_args(annotation))

    names = set()
    for cls in vars(model).values():
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            names |= {n for n, f in cls.model_fields.items() if choice(f.annotation)}
    return frozenset(names)


#: Keys whose values are translated; identifiers and free text are shown as written.
ENUMERATED_FIELDS = _enumerated_fields()


def value_label(value: object, lang: str = "ja", field: str | None = None) -> str:
    """The label of a choice value of key ``field``; identifiers, free text and numbers pass
    through unchanged (``field=None`` translates any known value)."""
    text = str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text
    if field is not None and field not in ENUMERATED_FIELDS:
        return _pick(None, text, lang)
    pair = FIELD_VALUE_LABELS.get((field, text)) if field else None
    return _pick(pair or VALUE_LABELS.get(text), text, lang)


def item_label(item: str, lang: str = "ja") -> str:
    """The heading of an index item (``"6"`` → （６）対照群の設定と方向)."""
    return _pick(ITEM_LABELS.get(item), item, lang)


def point_label(item: str, point: str, lang: str = "ja") -> str:
    """What a checklist point checks."""
    return _pick(POINT_LABELS.get((item, point)), f"{item}-{point}", lang)


def status_label(status: str, lang: str = "ja") -> str:
    """The label of a status or a source (met, justified, missing, not_met, plan, data)."""
    return _pick(STATUS_LABELS.get(status), status, lang)
