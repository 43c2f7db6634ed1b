//! Errors and findings: what a rule says about a form, by sheet, cell and field.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cellref::{Pos, a1};

/// A stable identifier of the rule behind an error or finding. Serialised as its snake_case id
/// (`total_mismatch`), which is what `check --json` prints and what the database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCode {
    // The file itself.
    /// An Office/WPS lock or temp file (`~$报表.xlsx`), not a form.
    LockFile,
    /// The file was not found.
    FileNotFound,
    /// The file could not be read from disk.
    Unreadable,
    /// A file of 0 bytes.
    EmptyFile,
    /// A file over the size limit.
    FileTooLarge,
    /// Not an Excel, WPS or LibreOffice workbook.
    NotAWorkbook,
    /// A truncated or damaged workbook.
    DamagedFile,
    /// A workbook with an opening password.
    PasswordProtected,
    /// A workbook that inflates beyond the limits (a zip bomb).
    InflatesTooMuch,
    /// More sheets than the limit.
    TooManySheets,
    /// A sheet with more cells than the limit.
    TooManyCells,
    /// A file that could not be read within the time and memory a worker may spend on one file.
    TooComplex,
    /// A workbook without the title of any standard form.
    NotAForm,

    // Errors of every form.
    /// The 年度 line is missing or empty.
    YearMissing,
    /// A required field is empty or missing.
    FieldMissing,
    /// A negative amount.
    AmountNegative,
    /// An amount with more than 4 decimals (万元).
    AmountPrecision,
    /// An amount that is not a number.
    AmountNotNumber,
    /// An amount or points too large to be meant (and to compute with).
    NumberTooLarge,
    /// No indicator rows.
    NoIndicators,
    /// An indicator without 一级指标.
    Level1Missing,
    /// A 一级指标 not in the framework.
    Level1Unknown,
    /// An indicator without 二级指标.
    Level2Missing,
    /// A 二级指标 not belonging to its 一级指标.
    Level2Unknown,
    /// An indicator without 三级指标 name.
    Level3Missing,
    /// An indicator without 指标值.
    TargetMissing,

    // Errors of the target declaration.
    /// No 年度资金总额.
    TotalMissing,
    /// 年度资金总额 is not 财政拨款 plus 其他资金.
    TotalMismatch,
    /// No 年度总体目标.
    GoalMissing,

    // Errors of the performance report.
    /// A 完成目标可能性 empty or not one of the choices.
    LikelihoodInvalid,
    /// A shortfall or an uncertain indicator without 偏差原因分析.
    DeviationReasonMissing,
    /// An uncertain indicator without 纠偏措施.
    CorrectionMissing,

    // Errors of the self-evaluation.
    /// No or zero 全年预算数.
    BudgetMissing,
    /// No 全年执行数.
    SpentMissing,
    /// An indicator without 分值.
    WeightMissing,
    /// An indicator without 得分.
    ScoreMissing,
    /// An 得分 above its 分值.
    ScoreExceedsWeight,
    /// An 得分 below its 分值 without 偏差原因分析及改进措施.
    ImprovementMissing,
    /// The 分值 do not add up to 100.
    #[serde(rename = "weights_not_100")]
    WeightsNot100,

    // Findings of the rules.
    /// A field value not among its choices.
    ChoiceUnknown,
    /// A header period differing from 监控期间.
    PeriodMismatch,
    /// A stated 执行率 differing from the amounts.
    RateDiffers,
    /// Execution behind the time schedule.
    ExecutionLag,

    // Review findings of the target declaration.
    /// No 数量指标 (blocks the declaration).
    NoQuantityIndicator,
    /// No 效益指标 (blocks the declaration).
    NoBenefitIndicator,
    /// No 满意度指标.
    NoSatisfactionIndicator,
    /// No 成本指标.
    NoCostIndicator,
    /// Fewer quantitative targets than the configured share.
    FewQuantitative,
    /// A qualitative target with a vague word.
    VagueTarget,
    /// The same 三级指标 twice.
    DuplicateIndicator,

    // Findings of the score.
    /// An 实际完成值 in a unit other than the target's.
    UnitMismatch,
    /// The claimed total differs from the verified score.
    ScoreDiffers,
    /// The claimed grade differs from the verified grade.
    GradeDiffers,

    // Findings against the approved declaration.
    /// No approved declaration to measure against.
    NoApprovedDeclaration,
    /// A target changed from the approved one.
    TargetChanged,
    /// An indicator not in the approved declaration.
    IndicatorAdded,
    /// An approved indicator left out.
    IndicatorRemoved,
    /// A declaration made while approved targets are in force: an adjustment request.
    AdjustmentRequest,

    // Found on receipt.
    /// A form of another department than the folder's.
    WrongDepartment,
}

impl IssueCode {
    /// The snake_case id, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LockFile => "lock_file",
            Self::FileNotFound => "file_not_found",
            Self::Unreadable => "unreadable",
            Self::EmptyFile => "empty_file",
            Self::FileTooLarge => "file_too_large",
            Self::NotAWorkbook => "not_a_workbook",
            Self::DamagedFile => "damaged_file",
            Self::PasswordProtected => "password_protected",
            Self::InflatesTooMuch => "inflates_too_much",
            Self::TooManySheets => "too_many_sheets",
            Self::TooManyCells => "too_many_cells",
            Self::TooComplex => "too_complex",
            Self::NotAForm => "not_a_form",
            Self::YearMissing => "year_missing",
            Self::FieldMissing => "field_missing",
            Self::AmountNegative => "amount_negative",
            Self::AmountPrecision => "amount_precision",
            Self::AmountNotNumber => "amount_not_number",
            Self::NumberTooLarge => "number_too_large",
            Self::NoIndicators => "no_indicators",
            Self::Level1Missing => "level1_missing",
            Self::Level1Unknown => "level1_unknown",
            Self::Level2Missing => "level2_missing",
            Self::Level2Unknown => "level2_unknown",
            Self::Level3Missing => "level3_missing",
            Self::TargetMissing => "target_missing",
            Self::TotalMissing => "total_missing",
            Self::TotalMismatch => "total_mismatch",
            Self::GoalMissing => "goal_missing",
            Self::LikelihoodInvalid => "likelihood_invalid",
            Self::DeviationReasonMissing => "deviation_reason_missing",
            Self::CorrectionMissing => "correction_missing",
            Self::BudgetMissing => "budget_missing",
            Self::SpentMissing => "spent_missing",
            Self::WeightMissing => "weight_missing",
            Self::ScoreMissing => "score_missing",
            Self::ScoreExceedsWeight => "score_exceeds_weight",
            Self::ImprovementMissing => "improvement_missing",
            Self::WeightsNot100 => "weights_not_100",
            Self::ChoiceUnknown => "choice_unknown",
            Self::PeriodMismatch => "period_mismatch",
            Self::RateDiffers => "rate_differs",
            Self::ExecutionLag => "execution_lag",
            Self::NoQuantityIndicator => "no_quantity_indicator",
            Self::NoBenefitIndicator => "no_benefit_indicator",
            Self::NoSatisfactionIndicator => "no_satisfaction_indicator",
            Self::NoCostIndicator => "no_cost_indicator",
            Self::FewQuantitative => "few_quantitative",
            Self::VagueTarget => "vague_target",
            Self::DuplicateIndicator => "duplicate_indicator",
            Self::UnitMismatch => "unit_mismatch",
            Self::ScoreDiffers => "score_differs",
            Self::GradeDiffers => "grade_differs",
            Self::NoApprovedDeclaration => "no_approved_declaration",
            Self::TargetChanged => "target_changed",
            Self::IndicatorAdded => "indicator_added",
            Self::IndicatorRemoved => "indicator_removed",
            Self::AdjustmentRequest => "adjustment_request",
            Self::WrongDepartment => "wrong_department",
        }
    }
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error (rejects the form) or a finding (goes into the opinion or feedback letter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// The sheet, null for problems of the whole file.
    pub(crate) sheet: Option<String>,
    /// The cell the department sees in its own file (`E8`), null where no cell applies.
    pub cell: Option<String>,
    /// The field as labelled on the form.
    pub(crate) field: String,
    /// A stable identifier of the rule.
    pub code: IssueCode,
    /// For the department, in Chinese, saying what to do.
    pub message: String,
    /// Which of the four review criteria a declaration finding belongs to (absent in results
    /// stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) criterion: Option<Criterion>,
}

impl Issue {
    pub(crate) fn new(
        sheet: &str,
        cell: Option<Pos>,
        field: &str,
        code: IssueCode,
        message: String,
    ) -> Issue {
        Issue {
            sheet: Some(sheet.to_string()),
            cell: cell.map(a1),
            field: field.to_string(),
            code,
            message,
            criterion: None,
        }
    }
}

/// The four things a target declaration is reviewed for (吉政发〔2011〕36号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Criterion {
    /// 绩效目标与部门职能的相关性 — left to the reviewer.
    Relevance,
    /// 实施方案的可行性 — left to the reviewer.
    Feasibility,
    /// 绩效指标的合理性.
    Indicators,
    /// 资金测算的合理性.
    Funds,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, to check the serialised id against `as_str`.
    const ALL: [IssueCode; 59] = {
        use IssueCode::*;
        [
            LockFile,
            FileNotFound,
            Unreadable,
            EmptyFile,
            FileTooLarge,
            NotAWorkbook,
            DamagedFile,
            PasswordProtected,
            InflatesTooMuch,
            TooManySheets,
            TooManyCells,
            TooComplex,
            NotAForm,
            YearMissing,
            FieldMissing,
            AmountNegative,
            AmountPrecision,
            AmountNotNumber,
            NumberTooLarge,
            NoIndicators,
            Level1Missing,
            Level1Unknown,
            Level2Missing,
            Level2Unknown,
            Level3Missing,
            TargetMissing,
            TotalMissing,
            TotalMismatch,
            GoalMissing,
            LikelihoodInvalid,
            DeviationReasonMissing,
            CorrectionMissing,
            BudgetMissing,
            SpentMissing,
            WeightMissing,
            ScoreMissing,
            ScoreExceedsWeight,
            ImprovementMissing,
            WeightsNot100,
            ChoiceUnknown,
            PeriodMismatch,
            RateDiffers,
            ExecutionLag,
            NoQuantityIndicator,
            NoBenefitIndicator,
            NoSatisfactionIndicator,
            NoCostIndicator,
            FewQuantitative,
            VagueTarget,
            DuplicateIndicator,
            UnitMismatch,
            ScoreDiffers,
            GradeDiffers,
            NoApprovedDeclaration,
            TargetChanged,
            IndicatorAdded,
            IndicatorRemoved,
            AdjustmentRequest,
            WrongDepartment,
        ]
    };

    #[test]
    fn code_serialises_as_its_id_and_reads_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.to_string(), code.as_str());
            assert_eq!(serde_json::from_str::<IssueCode>(&json).unwrap(), code);
            assert!(seen.insert(code.as_str()), "{code} twice");
        }
        assert_eq!(IssueCode::WeightsNot100.as_str(), "weights_not_100");
        assert_eq!(IssueCode::Level1Missing.as_str(), "level1_missing");
    }

    #[test]
    fn unknown_code_does_not_read() {
        assert!(serde_json::from_str::<IssueCode>("\"no_such_rule\"").is_err());
    }
}
