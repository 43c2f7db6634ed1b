//! Charts drawn on the server as inline SVG (plotters): the grade distribution of the
//! self-evaluations and the execution rates by department, for 总览.
//!
//! The SVG carries presentation attributes only (`fill=`, `font-family=`), never a `style`
//! attribute or element, so the page's content security policy (`style-src 'self'`) lets it
//! render; plotters escapes every text it places (`<`, `&`, quotes), and [`finish`] checks both.
//! Text names Chinese fonts a browser is likely to have.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The fonts of every text in a chart: Chinese first, then any sans-serif.
const FONT: &str = "Noto Sans CJK SC, Microsoft YaHei, sans-serif";

const BLUE: RGBColor = RGBColor(0x2b, 0x5c, 0x9e);
const TEAL: RGBColor = RGBColor(0x2f, 0x8f, 0x7f);
const GREY: RGBColor = RGBColor(0x66, 0x66, 0x66);
/// One colour per grade band, best first (优 良 中 差); more bands reuse the last.
const GRADE_COLOURS: [RGBColor; 4] = [
    RGBColor(0x2f, 0x8f, 0x4f),
    RGBColor(0x2b, 0x5c, 0x9e),
    RGBColor(0xc8, 0x8a, 0x1e),
    RGBColor(0xb0, 0x30, 0x30),
];

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e}")
}

/// The finished SVG: the `<svg>` element with an accessible title, checked to hold no `style`.
fn finish(svg: String, title: &str) -> anyhow::Result<String> {
    // plotters writes `<svg width=".." height=".." viewBox=".." xmlns="..">`: add a role and a
    // title (escaped here: it is our text, but may hold a department's name one day).
    let svg = svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" class=\"chart\" ",
            super::page::escape(title)
        ),
        1,
    );
    if svg.contains("style=") || svg.contains("<style") || svg.contains("<script") {
        anyhow::bail!("a chart came out with a style or script: {title}");
    }
    Ok(svg)
}

/// A column chart of how many self-evaluations got each grade.
pub(crate) fn grades(title: &str, names: &[String], counts: &[u64]) -> anyhow::Result<String> {
    let n = names.len().min(counts.len()).max(1);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    // Headroom above the highest bar for its number.
    let y_max = top + top.div_ceil(8).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (420, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 17).into_font().color(&BLACK))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(44)
            // A segmented range `0..k` has k + 1 segments.
            .build_cartesian_2d((0..n - 1).into_segmented(), 0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .y_desc("项目数")
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v}"))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 14).into_font().color(&GREY))
            .axis_desc_style((FONT, 13).into_font().color(&GREY))
            .draw()
            .map_err(err)?;
        for (i, c) in counts.iter().take(n).enumerate() {
            let colour = GRADE_COLOURS[i.min(GRADE_COLOURS.len() - 1)];
            chart
                .draw_series(
                    Histogram::vertical(&chart)
                        .style(colour.filled())
                        .margin(14)
                        .data([(i, *c)]),
                )
                .map_err(err)?;
            let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i), *c));
            root.draw(&Text::new(
                c.to_string(),
                (x, y - 4),
                (FONT, 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    finish(svg, title)
}

/// One line of the execution-rate chart: a name and two rates as fractions (0.95 = 95%).
#[derive(Debug, Clone)]
pub(crate) struct Rates {
    pub(crate) name: String,
    /// 自评平均预算执行率.
    pub(crate) self_evaluation: Option<f64>,
    /// 监控平均执行率.
    pub(crate) report: Option<f64>,
}

/// Horizontal bars: for each line, its self-evaluations' and its reports' average execution
/// rate, with a legend; the axis runs to 100% (further when a rate exceeds it).
pub(crate) fn rates(title: &str, lines: &[Rates]) -> anyhow::Result<String> {
    let n = lines.len().max(1);
    let highest = lines
        .iter()
        .flat_map(|l| [l.self_evaluation, l.report])
        .flatten()
        .fold(1.0f64, f64::max);
    let x_max = (highest * 10.0).ceil() / 10.0 + 0.05;
    let label_width = lines
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 16) as u32
        * 13
        + 12;
    let height = 110 + 30 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (legend, plot) = root.split_vertically(58);
        draw_legend(&legend, title)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin_right(24)
            .margin_left(8)
            .margin_bottom(8)
            .x_label_area_size(28)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..x_max, (0..n - 1).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .x_labels(8)
            .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                // The first line at the top: segment 0 is at the bottom.
                SegmentValue::CenterOf(i) => lines
                    .get(n - 1 - *i)
                    .map(|l| shorten(&l.name, 16))
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 13).into_font().color(&GREY))
            .draw()
            .map_err(err)?;
        for (line, l) in lines.iter().enumerate() {
            let i = n - 1 - line;
            // The line's band in pixels: its segment's edges.
            let (_, y0) = chart.backend_coord(&(0.0, SegmentValue::Exact(i)));
            let (_, y1) = chart.backend_coord(&(0.0, SegmentValue::Exact(i + 1)));
            let (top, bottom) = (y0.min(y1), y0.max(y1));
            let band = bottom - top;
            let bar = (band * 3 / 10).max(2);
            let gap = (band - 2 * bar) / 3;
            for (k, (rate, colour)) in [(l.self_evaluation, BLUE), (l.report, TEAL)]
                .into_iter()
                .enumerate()
            {
                let Some(rate) = rate else { continue };
                let (x0, _) = chart.backend_coord(&(0.0, SegmentValue::Exact(i)));
                let (x1, _) =
                    chart.backend_coord(&(rate.clamp(0.0, x_max), SegmentValue::Exact(i)));
                let y = top + gap + k as i32 * (bar + gap);
                root.draw(&Rectangle::new(
                    [(x0, y), (x1.max(x0 + 1), y + bar)],
                    colour.filled(),
                ))
                .map_err(err)?;
                root.draw(&Text::new(
                    format!("{:.1}%", rate * 100.0),
                    (x1 + 4, y + bar / 2),
                    (FONT, 11)
                        .into_font()
                        .color(&GREY)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    finish(svg, title)
}

fn draw_legend(area: &DrawingArea<SVGBackend, Shift>, title: &str) -> anyhow::Result<()> {
    area.draw(&Text::new(
        title.to_string(),
        (area.dim_in_pixel().0 as i32 / 2, 8),
        (FONT, 17)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err)?;
    for (k, (name, colour)) in [("自评平均预算执行率", BLUE), ("监控平均执行率", TEAL)]
        .into_iter()
        .enumerate()
    {
        let x = 180 + k as i32 * 220;
        area.draw(&Rectangle::new([(x, 36), (x + 14, 48)], colour.filled()))
            .map_err(err)?;
        area.draw(&Text::new(
            name,
            (x + 20, 42),
            (FONT, 13)
                .into_font()
                .color(&GREY)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A long name cut to `max` characters with `…`.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_text_is_escaped_and_styles_are_attributes() {
        let names: Vec<String> = ["优", "良", "中", "差<script>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let svg = grades("等级分布 & <b>", &names, &[3, 2, 1, 0]).unwrap();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("差&lt;script&gt;"), "{svg}");
        assert!(svg.contains("等级分布 &amp; &lt;b&gt;"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
        assert!(svg.contains("font-family=\"Noto Sans CJK SC, Microsoft YaHei, sans-serif\""));

        let lines = vec![
            Rates {
                name: "<script>alert(1)</script>厅".into(),
                self_evaluation: Some(0.95),
                report: None,
            },
            Rates {
                name: "教育厅 & 科技厅".into(),
                self_evaluation: None,
                report: Some(1.2),
            },
        ];
        let svg = rates("执行率", &lines).unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("教育厅 &amp; 科技厅"), "{svg}");
        assert!(svg.contains("95.0%") && svg.contains("120.0%"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
    }

    /// The y of the text element holding `label`.
    fn text_y(svg: &str, label: &str) -> f64 {
        let at = svg.find(&format!(">\n{label}\n")).expect(label);
        let open = svg[..at].rfind("<text").unwrap();
        let y = svg[open..at].split(" y=\"").nth(1).unwrap();
        y[..y.find('"').unwrap()].parse().unwrap()
    }

    #[test]
    fn the_first_department_is_drawn_at_the_top_with_no_empty_band() {
        let lines: Vec<Rates> = (0..3)
            .map(|i| Rates {
                name: format!("第{i}厅"),
                self_evaluation: Some(0.5),
                report: None,
            })
            .collect();
        let svg = rates("执行率", &lines).unwrap();
        let ys: Vec<f64> = (0..3).map(|i| text_y(&svg, &format!("第{i}厅"))).collect();
        assert!(ys[0] < ys[1] && ys[1] < ys[2], "{ys:?}");
        // Three bands of equal height fill the plot: the gaps between labels are equal.
        assert!(((ys[1] - ys[0]) - (ys[2] - ys[1])).abs() < 2.0, "{ys:?}");

        let names: Vec<String> = ["优", "良"].iter().map(|s| s.to_string()).collect();
        let svg = grades("等级", &names, &[1, 2]).unwrap();
        // Two columns, no third empty one: the labels sit a quarter and three quarters across.
        let x = |label: &str| {
            let at = svg.find(&format!(">\n{label}\n")).unwrap();
            let open = svg[..at].rfind("<text").unwrap();
            let x = svg[open..at].split(" x=\"").nth(1).unwrap();
            x[..x.find('"').unwrap()].parse::<f64>().unwrap()
        };
        let (a, b) = (x("优"), x("良"));
        assert!(b > a && (b - a) > 120.0, "{a} {b}");
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let svg = grades("等级", &[], &[]).unwrap();
        assert!(svg.contains("</svg>"));
        let svg = rates("执行率", &[]).unwrap();
        assert!(svg.contains("</svg>"));
    }
}
