//! 收入与支出: a household's rolling 12-month per-capita net income, how it was
//! computed, the line of the period's year and the hardship flags (`shared::income`),
//! shown on the phone's household page and in the console.

use leptos::prelude::*;
use shared::income::RollingIncome;
use shared::indicators::Summary;
use shared::{Household, Lang, Period, Settings};

/// A number with thousands separators: `16,800`.
pub fn thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

/// The flags of `s` in `lang`, each a short phrase (the low-income one with its line).
pub fn flags(s: &Summary, settings: &Settings, period: Period, lang: Lang) -> Vec<String> {
    let zh = lang == Lang::Zh;
    let t = |a: &str, b: &str| if zh { a.to_owned() } else { b.to_owned() };
    let mut out = Vec::new();
    if s.zero_employment {
        out.push(t("零就业家庭", "Zero-employment household"));
    }
    if s.low_income_labour {
        let line = settings.for_period(period).low_income_line().map(thousands).unwrap_or_default();
        out.push(if zh {
            format!("低收入（人均纯收入低于 {line} 元）")
        } else {
            format!("Low income (under {line} yuan a head)")
        });
    }
    let h = s.hardship;
    if h.below_line {
        out.push(t("低于防返贫监测线", "Below the monitoring line"));
    }
    if h.near_line {
        out.push(t("接近监测线（边缘）", "Just above the monitoring line"));
    }
    if h.income_fall {
        out.push(t("人均收入比上年同期减少30%以上", "Income per head fell by over 30 % in a year"));
    }
    if h.heavy_expenses {
        out.push(t("刚性支出较大", "Large unavoidable expenses"));
    }
    if s.guarantee_alert {
        out.push(t("两不愁三保障存在问题", "A guarantee failed"));
    }
    if s.risk {
        out.push(t("本月有返贫风险", "Risk signal this month"));
    }
    if !s.must_visit.is_empty() {
        let why = s.must_visit.iter().map(|m| shared::Coded::label(*m, lang)).collect::<Vec<_>>().join("、");
        out.push(if zh { format!("八必访：{why}") } else { format!("Must visit: {why}") });
    }
    out
}

/// The income panel of household `h` in `period`.
pub fn panel(h: &Household, period: Period, settings: &Settings, lang: Lang) -> impl IntoView + use<> {
    let zh = lang == Lang::Zh;
    let now = RollingIncome::of(h, period);
    let s = Summary::of(h, period, settings);
    let year = settings.for_period(period);
    let window = match (now.first, now.last) {
        (Some(a), Some(b)) => format!("{a} – {b}"),
        _ => String::new(),
    };
    let per_capita = match now.per_capita {
        Some(p) => format!("{} {}", thousands(p), if zh { "元" } else { "yuan" }),
        None if zh => "无收入记录".into(),
        None => "no income recorded".into(),
    };
    let how = match (now.annual, zh) {
        (Some(a), true) => format!(
            "{window}：{} 个月有记录，合计 {} 元，折合全年 {} 元 ÷ {} 人（期末在户）",
            now.months,
            thousands(now.recorded),
            thousands(a),
            now.members
        ),
        (Some(a), false) => format!(
            "{window}: {} months recorded, {} yuan in all, {} a year ÷ {} residents at the end",
            now.months,
            thousands(now.recorded),
            thousands(a),
            now.members
        ),
        (None, true) => format!("{window}：没有收入记录"),
        (None, false) => format!("{window}: no income recorded"),
    };
    let line = match (year.monitoring_line, zh) {
        (Some(l), true) => format!("{} 年监测线 {} 元", period.year(), thousands(l)),
        (Some(l), false) => format!("Monitoring line of {}: {} yuan", period.year(), thousands(l)),
        (None, true) => format!("{} 年监测线未设置（请管理员在“设置”中填写）", period.year()),
        (None, false) => format!("No monitoring line set for {} (an admin sets it in Settings)", period.year()),
    };
    let before = s.per_capita_prev.map(|p| {
        if zh {
            format!("上年同期人均 {} 元", thousands(p))
        } else {
            format!("A year earlier: {} yuan a head", thousands(p))
        }
    });
    let expenses = (s.expenses_year > 0).then(|| {
        if zh {
            format!("近12个月刚性支出 {} 元", thousands(s.expenses_year))
        } else {
            format!("Unavoidable expenses, last 12 months: {} yuan", thousands(s.expenses_year))
        }
    });
    view! {
        <div class="income-box" data-testid="income-box">
            <p><strong>{if zh { "人均纯收入（近12个月）：" } else { "Net income per head (12 months): " }}</strong>
                <span data-testid="per-capita">{per_capita}</span></p>
            <p class="hint" data-testid="income-how">{how}</p>
            <p class="hint" data-testid="income-line">{line}</p>
            {before.map(|b| view! { <p class="hint">{b}</p> })}
            {expenses.map(|e| view! { <p class="hint" data-testid="expenses-year">{e}</p> })}
        </div>
    }
}
