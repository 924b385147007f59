//! The page's inline style sheet.

/// Inline CSS: system fonts, cards, bucket accents (normal blue, hard amber,
/// background green), thumbnail grids, tables and chart styles.
pub(super) const CSS: &str = r#":root {
  --fg: #1c2430; --muted: #667085; --line: #e4e7ec; --bg: #f5f6f8; --card: #fff;
  --normal: #3e6fd8; --normal-bg: #eaf0fc;
  --hard: #d9822b; --hard-bg: #fdf1e4;
  --background: #2e9d74; --background-bg: #e5f5ee;
  --none: #8a94a6; --none-bg: #eef0f3;
  --pool: #b7bfcc; --chosen: #5b4fc9;
  --ok: #1d8a47; --short: #c8372d; --short-bg: #fdecea;
}
* { box-sizing: border-box; }
html { scroll-behavior: smooth; scroll-padding-top: 110px; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  -webkit-font-smoothing: antialiased; }
code, .path, .paths { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.wrap, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
.top { background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; }
.head { display: flex; align-items: center; justify-content: space-between; gap: 24px; padding-top: 18px; padding-bottom: 12px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; font-weight: 600; color: var(--muted); }
h1 { margin: 2px 0 4px; font-size: 24px; font-weight: 650; letter-spacing: -.01em; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
.meta b { color: var(--fg); font-weight: 600; }
.status { flex: none; font-weight: 700; font-size: 15px; padding: 8px 16px; border-radius: 999px; letter-spacing: .02em; }
.status.ok { background: #e3f4ea; color: var(--ok); }
.status.short { background: var(--short-bg); color: var(--short); }
nav { border-top: 1px solid var(--line); }
nav .wrap { display: flex; gap: 4px; overflow-x: auto; }
nav a { color: var(--muted); text-decoration: none; padding: 9px 12px; font-weight: 550; font-size: 13px; border-bottom: 2px solid transparent; white-space: nowrap; }
nav a:hover { color: var(--fg); border-bottom-color: var(--chosen); }
section { margin: 34px 0 8px; }
h2 { font-size: 19px; font-weight: 650; margin: 0 0 12px; letter-spacing: -.005em; }
h3 { font-size: 13px; font-weight: 650; margin: 0 0 10px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
h4 { font-size: 13.5px; font-weight: 600; margin: 18px 0 8px; }
.count { display: inline-block; min-width: 22px; padding: 0 7px; border-radius: 999px; background: #e8ebf0; color: var(--muted); font-size: 12px; font-weight: 600; text-align: center; vertical-align: 2px; font-variant-numeric: tabular-nums; text-transform: none; letter-spacing: 0; }
.hint, .empty { color: var(--muted); margin: -4px 0 14px; }
.flag { color: var(--short); font-weight: 600; margin: 6px 0 0; font-size: 13px; }
.note { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--hard); border-radius: 8px; padding: 10px 14px; margin: 10px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px; box-shadow: 0 1px 2px rgba(16,24,40,.04); }
.card.wide { margin-top: 14px; overflow-x: auto; }
.card.fit { width: fit-content; max-width: 100%; min-width: min(520px, 100%); }
.card.fit table { width: auto; min-width: 100%; }
.card.fit .grid-table td, .card.fit .grid-table th { padding-left: 16px; padding-right: 16px; }
.alert { background: var(--short-bg); border: 1px solid #f5c2bd; border-left: 5px solid var(--short); border-radius: 12px; padding: 14px 18px; margin-bottom: 16px; color: #7a1f18; }
.alert h3 { color: var(--short); margin-bottom: 6px; }
.alert ul { margin: 0 0 8px; padding-left: 20px; }
.alert p { margin: 6px 0 0; }
.alert .hint { color: #8f3b33; margin: 6px 0 0; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; margin-bottom: 14px; }
.stat { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.stat .n { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .l { color: var(--muted); font-size: 12px; }
.buckets, .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 14px; }
.cards { margin-top: 14px; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
.cards .card { min-width: 0; overflow-x: auto; }
.bucket { border-top: 4px solid var(--accent); background: linear-gradient(180deg, var(--tint) 0, #fff 70px); }
.b-normal { --accent: var(--normal); --tint: var(--normal-bg); }
.b-hard { --accent: var(--hard); --tint: var(--hard-bg); }
.b-background { --accent: var(--background); --tint: var(--background-bg); }
.b-none, .b-unbucketed { --accent: var(--none); --tint: var(--none-bg); }
.bh { font-weight: 650; text-transform: capitalize; font-size: 15px; display: flex; align-items: center; gap: 8px; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--accent); display: inline-block; flex: none; }
.big { font-size: 30px; font-weight: 700; margin: 4px 0 6px; font-variant-numeric: tabular-nums; }
.big span { font-size: 16px; color: var(--muted); font-weight: 500; }
.big.short { color: var(--short); }
.meter { height: 6px; border-radius: 3px; background: #edf0f4; overflow: hidden; margin-bottom: 10px; }
.meter i { display: block; height: 100%; background: var(--accent); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.kv th { text-align: left; font-weight: 400; color: var(--muted); padding: 3px 12px 3px 0; }
.kv td { padding: 3px 0; }
.num { text-align: right; white-space: nowrap; }
.kv td.num { white-space: normal; overflow-wrap: anywhere; }
.grid-table th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 6px 10px; border-bottom: 1px solid var(--line); }
.grid-table th.num { text-align: right; }
.grid-table td { padding: 6px 10px; border-bottom: 1px solid #f0f2f5; vertical-align: middle; }
.grid-table tbody tr:hover { background: #fafbfc; }
.grid-table tr.short td { color: var(--short); font-weight: 600; }
.path { overflow-wrap: anywhere; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; background: var(--tint, #eef0f3); color: var(--accent, var(--muted)); font-weight: 600; }
.sheet { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 12px; padding: 4px 18px 16px; margin-bottom: 14px; }
.sheet > summary { cursor: pointer; font-size: 16px; font-weight: 650; padding: 10px 0 2px; text-transform: capitalize; display: flex; align-items: center; gap: 8px; list-style: none; }
.sheet > summary::-webkit-details-marker { display: none; }
.sheet > summary::after { content: "▾"; color: var(--muted); font-size: 12px; }
.sheet:not([open]) > summary::after { content: "▸"; }
.sheet h4 { color: var(--accent); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr)); gap: 10px; }
.tile { margin: 0; min-width: 0; }
.thumb { position: relative; height: 96px; display: flex; align-items: center; justify-content: center; background: #f0f2f5; border-radius: 8px; overflow: hidden; border: 1px solid #e6e9ee; }
.thumb img { max-width: 100%; max-height: 100%; width: auto; height: auto; display: block; }
.ph { width: 100%; height: 100%; display: flex; align-items: center; justify-content: center; color: #98a2b3; font-size: 12px; background: repeating-linear-gradient(45deg, #e9ecf0 0 8px, #e2e6eb 8px 16px); }
.tile figcaption { padding: 4px 2px 0; line-height: 1.3; }
.tile .name, .tile .sub { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tile .name { font-size: 12px; }
.tile .sub { font-size: 11px; color: var(--muted); }
.groups { display: grid; gap: 8px; }
.gh { overflow-wrap: anywhere; }
.group > summary { cursor: pointer; list-style: none; display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 8px; }
.group > summary::-webkit-details-marker { display: none; }
.group > summary::before { content: "▸"; color: var(--muted); font-size: 12px; }
.group[open] > summary::before { content: "▾"; }
.group[open] > summary { margin-bottom: 10px; }
.group:not([open]) { padding-top: 9px; padding-bottom: 9px; }
.group .why { margin-left: auto; color: var(--muted); font-size: 12px; }
.legend { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 8px 14px; margin: 0 0 14px; }
.legend > summary { cursor: pointer; font-weight: 600; }
.legend dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 4px; }
.legend dt { font-weight: 600; white-space: nowrap; }
.legend dd { margin: 0; }
.legend .eg { color: var(--muted); font-weight: 400; font-size: 12px; }
.hint.below { margin: 10px 0 0; }
.cards.labels { margin-top: 0; }
.strip { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.strip .tile { width: 136px; }
.tile.kept .thumb { outline: 3px solid var(--chosen); outline-offset: 1px; }
.badge { position: absolute; left: 0; right: 0; bottom: 0; font-size: 10px; font-weight: 650; padding: 1px 4px; text-align: center; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; background: rgba(28,36,48,.72); color: #fff; letter-spacing: .01em; }
.badge.kept { background: var(--chosen); }
.badge.near-duplicate { background: rgba(176,98,20,.85); }
.badge.exact-duplicate { background: rgba(180,45,38,.85); }
.badge.consecutive-duplicate { background: rgba(52,64,84,.85); }
.badge.not-sampled { background: rgba(102,112,133,.85); }
.more { align-self: center; color: var(--muted); font-weight: 600; padding: 0 10px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 14px; }
.chart { margin: 0; }
.chart figcaption { margin-bottom: 6px; }
.chart figcaption span { color: var(--muted); font-size: 12px; margin-left: 4px; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .gl { stroke: #eef0f3; stroke-width: 1; }
.chart .axis { stroke: #98a2b3; stroke-width: 1; }
.chart text { font-size: 9.5px; fill: var(--muted); }
.chart .yl { text-anchor: end; }
.chart .xl { text-anchor: middle; }
.chart rect.pool { fill: var(--pool); }
.chart rect.chosen { fill: var(--chosen); }
.chart rect:hover { opacity: .75; }
.chart-note { color: var(--muted); font-size: 12px; margin-top: 4px; }
.key { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 6px; vertical-align: -1px; }
.key.pool, .key.avail { background: var(--pool); }
.key.chosen, .key.got { background: var(--chosen); }
.cams .barcol { width: 40%; min-width: 160px; font-weight: 400; }
.hbar { position: relative; height: 12px; background: #f2f4f7; border-radius: 3px; overflow: hidden; }
.hbar i { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 3px; }
.hbar i.avail { background: var(--pool); }
.hbar i.got { background: var(--chosen); top: 3px; bottom: 3px; }
.paths { margin: 0; padding-left: 18px; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; padding-top: 30px; padding-bottom: 40px; }
@media (max-width: 640px) { .head { flex-direction: column; align-items: flex-start; } .wrap, main, footer { padding: 0 14px; } }
@media print { .top { position: static; } nav { display: none; } .sheet, .card { break-inside: avoid; } }
"#;
