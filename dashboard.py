"""Event Timeline page: lays out widgets, keeps them and the URL in step, and calls timeline/."""

from __future__ import annotations

import streamlit as st

from timeline import loading

st.set_page_config(page_title="Event Timeline", page_icon="🕑", layout="wide")
st.title("Event Timeline")
# The first paint of a session comes before the imports below: in a fresh server, pandas and pyarrow take
# a third of a second to import, and the browser meanwhile fetches and compiles Plotly's JavaScript
# (megabytes) for these empty axes instead of waiting for the events. Cleared once the page is drawn.
LOADING = st.empty()
if "painted" not in st.session_state and st.query_params.get("tab", "timeline") in loading.CHART_TABS:
    LOADING.plotly_chart(loading.loading_figure(), width="stretch")

import functools
import hashlib
import json
import logging
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from timeline import (
    bundled,
    casualties,
    display,
    figure_parts,
    figures,
    reaction_figures,
    reactions,
    store,
    toll_figures,
)
from timeline import frame as frames
from timeline import schema as s
from timeline import view as views
from timeline.errors import TimelineError
from timeline.ingest import ImportOptions, ImportResult, read_events, version_meta

TAB_LABELS = {
    "timeline": "Timeline",
    "reactions": "Reactions",
    "casualties": "Casualties",
    "table": "Table",
    "dataset": "Dataset",
}
TABLE_ROWS_SHOWN = 5_000
# Who, what and where first; the bookkeeping columns last.
TABLE_COLUMNS = (
    s.ACTOR,
    s.EVENT_TYPE,
    s.TITLE,
    s.DESCRIPTION,
    s.TARGET,
    s.ACTOR_GROUP,
    s.ACTOR_TYPE,
    s.LOCATION,
    s.FATALITIES,
    s.INJURED,
    s.SOURCE_NAME,
    s.SOURCE_URL,
    s.TIME_PRECISION,
    s.UTC_OFFSET_MINUTES,
    s.LATITUDE,
    s.LONGITUDE,
    s.EVENT_ID,
)
FILTER_KEYS = ("actors", "groups", "types", "start", "end", "query")
VIEW_OPTIONS = ("lanes", "axis", "by")  # view choices that are the same for every dataset
AXIS_LABELS = {"time": "Clock time", "relative": "Time since anchor", "log": "Time since anchor (log)"}
NO_COLUMN = "(none)"


@dataclass(frozen=True)
class _Anchor:
    """The view's time zero: its row (empty without one, or when this version lacks it) and the interval
    its start could lie in (None then)."""

    rows: pd.DataFrame
    origin: reactions.Anchor | None


@st.cache_resource(max_entries=6, show_spinner="Loading the dataset…")
def _frame(dataset_id: str, version: str) -> pd.DataFrame:
    """The prepared events of one version, light columns only; shared by all sessions, never mutated."""
    return frames.prepare(store.load(dataset_id, version, columns=frames.LIGHT_COLUMNS))


@st.cache_resource(max_entries=6, show_spinner="Loading the events' text…")
def _details(dataset_id: str, version: str) -> pa.Table:
    """The version's other columns (text, counts, places), loaded when events are shown one by one."""
    return store.load(dataset_id, version, columns=frames.DETAIL_COLUMNS)


@st.cache_data(max_entries=32, show_spinner=False)
def _default_anchor(dataset_id: str, version: str, declared: str | None) -> str | None:
    """The version's default anchor, found once (it scans every event)."""
    return reactions.default_anchor(_frame(dataset_id, version), declared)


@st.cache_resource(max_entries=6, show_spinner="Indexing the text for search…")
def _search_text(dataset_id: str, version: str) -> pa.ChunkedArray:
    """The version's search index, built on the first search (most views never search)."""
    actor = pa.array(_frame(dataset_id, version)[s.ACTOR])
    return frames.search_text(_details(dataset_id, version).append_column(s.ACTOR, pa.chunked_array([actor])))


@st.cache_resource(max_entries=64, show_spinner=False)
def _counts(dataset_id: str, version: str, column: str) -> pd.Series:
    """Events per value of a column over the whole version (the filter options), counted once."""
    return frames.counts(_frame(dataset_id, version), column)


@st.cache_resource(max_entries=32, show_spinner=False)
def _anchor_rows(dataset_id: str, version: str, anchor_id: str | None) -> pd.DataFrame:
    """The anchor event's row with its title (empty without one), found once: it scans every event id."""
    frame = _frame(dataset_id, version)
    found = np.zeros(len(frame), dtype=bool)
    if anchor_id is not None:
        found[np.flatnonzero((frame[s.EVENT_ID] == anchor_id).to_numpy())[:1]] = True
    title = store.load(dataset_id, version, columns=[s.TITLE]) if found.any() else None
    return views.rows(frame, found, [*frame.columns, s.TITLE] if title is not None else None, title)


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def _read_upload(data: bytes, options: ImportOptions) -> ImportResult:
    return read_events(data, options)


@st.cache_data
def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _key(name: str) -> str:
    """Widget keys are per dataset, so switching datasets never carries stale choices across."""
    return f"{name}::{st.session_state.dataset}"


def _url_view() -> None:
    """Read the link the page was opened with, once per session."""
    if "opened_view" in st.session_state:
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    opened, notices = views.from_query(params)
    st.session_state.opened_view = opened
    st.session_state.notices = list(notices)
    st.session_state.seeded = set()
    st.session_state.setdefault("tab", TAB_LABELS[opened.tab])


def _choose_dataset(datasets: list[store.DatasetInfo]) -> store.VersionInfo:
    by_id = {d.dataset_id: d for d in datasets}
    opened: views.View = st.session_state.opened_view
    if "dataset" not in st.session_state:
        if opened.dataset in by_id:
            st.session_state.dataset = opened.dataset
        else:
            st.session_state.notices.append(
                f"Dataset {opened.dataset!r} does not exist on this server; showing the bundled dataset."
            )
            st.session_state.dataset = (
                bundled.DATASET_ID if bundled.DATASET_ID in by_id else datasets[0].dataset_id
            )
    st.sidebar.selectbox(
        "Dataset",
        list(by_id),
        key="dataset",
        format_func=lambda i: by_id[i].name if by_id[i].name == i else f"{by_id[i].name} ({i})",
    )
    dataset = by_id[st.session_state.dataset]
    versions = [v.version for v in dataset.versions]
    version_key = _key("version")
    if version_key not in st.session_state:
        wanted = opened.version if opened.dataset == dataset.dataset_id else None
        if wanted and wanted not in versions:
            st.session_state.notices.append(
                f"Version {wanted!r} of {dataset.dataset_id!r} does not exist; showing the newest."
            )
            wanted = None
        st.session_state[version_key] = wanted or versions[0]
    labels = {v.version: f"{v.version} · {v.created[:16].replace('T', ' ')} UTC" for v in dataset.versions}
    labels[versions[0]] += " (newest)"
    st.sidebar.selectbox("Version", versions, key=version_key, format_func=labels.get)
    return next(v for v in dataset.versions if v.version == st.session_state[version_key])


def _seed_filters(frame: pd.DataFrame) -> None:
    """Fill the filter widgets from the opened link (once per dataset), dropping what this data lacks."""
    dataset = st.session_state.dataset
    if dataset in st.session_state.seeded:
        return
    st.session_state.seeded.add(dataset)
    opened: views.View = st.session_state.opened_view
    if opened.dataset != dataset:
        opened = views.View(
            dataset=dataset, tz=opened.tz, tab=opened.tab, lanes=opened.lanes, axis=opened.axis
        )
    opened, notices = views.reconcile(opened, frame)
    st.session_state.notices.extend(notices)
    for name in FILTER_KEYS:
        value = getattr(opened, name)
        st.session_state[_key(name)] = list(value) if isinstance(value, tuple) else (value or "")
    st.session_state[_key("anchor")] = opened.anchor
    st.session_state[_key("reacts")] = list(opened.reacts)
    for name in VIEW_OPTIONS:
        st.session_state.setdefault(name, getattr(opened, name))
    st.session_state.setdefault("tz", opened.tz)


def _reset_filters() -> None:
    for name in FILTER_KEYS:
        st.session_state[_key(name)] = [] if name in ("actors", "groups", "types") else ""


def _labelled_counts(version: store.VersionInfo, column: str) -> tuple[list[str], dict[str, str]]:
    counts = _counts(version.dataset_id, version.version, column)
    return list(counts.index), {name: f"{name} ({n:,})" for name, n in counts.items()}


def _multiselect(label: str, version: store.VersionInfo, column: str, name: str) -> tuple[str, ...]:
    options, labels = _labelled_counts(version, column)
    key = _key(name)
    st.session_state[key] = [v for v in st.session_state.get(key, []) if v in labels]
    chosen = st.sidebar.multiselect(
        label,
        options,
        key=key,
        format_func=labels.get,
        placeholder="All",
        help="Type to search; counts are events.",
    )
    return tuple(chosen)


def _time_input(label: str, name: str, placeholder: str) -> str | None:
    text = st.sidebar.text_input(label, key=_key(name), placeholder=placeholder).strip()
    return text or None


def _filters(version: store.VersionInfo) -> views.View:
    st.sidebar.markdown("### Filters")
    actors = _multiselect("Actors", version, s.ACTOR, "actors")
    groups = _multiselect("Actor groups", version, s.ACTOR_GROUP, "groups")
    types = _multiselect("Event types", version, s.EVENT_TYPE, "types")
    start = _time_input("From", "start", "2024-03-22 or 2024-03-22T17:30")
    end = _time_input("To (inclusive)", "end", "2024-03-23")
    query = st.sidebar.text_input(
        "Search text", key=_key("query"), placeholder="words in title, text, actor, source"
    )
    zones = _zones()
    st.sidebar.selectbox(
        "Display time zone", zones, key="tz", help="Times are stored in UTC and shown in this zone."
    )
    st.sidebar.button("Reset filters", on_click=_reset_filters, width="stretch")
    newest = store.version_info(version.dataset_id).version
    candidate = views.View(
        dataset=version.dataset_id,
        version=None if version.version == newest else version.version,
        actors=actors,
        groups=groups,
        types=types,
        start=start,
        end=end,
        query=query.strip(),
        tz=st.session_state.tz,
        tab=next(k for k, v in TAB_LABELS.items() if v == st.session_state.tab),
        anchor=st.session_state.get(_key("anchor")),
        lanes=st.session_state.lanes,
        axis=st.session_state.axis,
        by=st.session_state.by,
        reacts=tuple(st.session_state.get(_key("reacts"), [])),
    )
    # Typed times are checked with the URL's own rules, so the page and a link agree on what is valid.
    checked, problems = views.from_query(views.to_query(candidate))
    for problem in problems:
        st.sidebar.warning(problem)
    return checked


def _sync_url(current: views.View) -> str:
    """Write the view into the address bar and return the full shareable link."""
    query = views.to_query(current)
    flat = {k: v if len(v) > 1 else v[0] for k, v in query.items()}
    if {k: st.query_params.get_all(k) for k in st.query_params} != query:
        st.query_params.from_dict(flat)
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(query, doseq=True)}" if query else base


def _event_details(frame: pd.DataFrame, event_id: str, tz: str) -> None:
    rows = frame[frame[s.EVENT_ID] == event_id]
    if rows.empty:
        return
    row = rows.iloc[0]
    stated = display.stated_times(rows, tz).iloc[0]
    with st.container(border=True):
        st.markdown(f"#### {_plain(row[s.TITLE] or row[s.EVENT_TYPE])}")
        st.caption(f"{stated} · {_plain(row[s.ACTOR])} · {_plain(row[s.EVENT_TYPE])}")
        if pd.notna(row[s.DESCRIPTION]):
            st.text(row[s.DESCRIPTION])
        if pd.notna(row[s.SOURCE_URL]):
            st.link_button(f"Open source: {row[s.SOURCE_NAME] or row[s.SOURCE_URL]}"[:120], row[s.SOURCE_URL])
        elif pd.notna(row[s.SOURCE_NAME]):
            st.caption(f"Source: {_plain(row[s.SOURCE_NAME])}")
        fields = {c: row[c] for c in s.COLUMN_NAMES if c != s.EXTRA and pd.notna(row[c])}
        fields["time as stated by the source"] = display.source_time(rows).iloc[0]
        if pd.notna(row[s.EXTRA]):
            fields.update({f"extra: {k}": v for k, v in json.loads(row[s.EXTRA]).items()})
        st.dataframe(
            pd.DataFrame({"field": list(fields), "value": [str(v) for v in fields.values()]}),
            hide_index=True,
            width="stretch",
        )
        if st.button("Use as anchor (time zero)", key=f"anchor-{event_id}"):
            st.session_state[_key("anchor")] = event_id
            st.rerun()


def _plain(text: object) -> str:
    """Text shown through Markdown with its Markdown and HTML characters escaped."""
    value = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    for char in "\\`*_{}[]()#+-.!|<>":
        value = value.replace(char, "\\" + char)
    return value


def _timeline_tab(shown: pd.DataFrame, current: views.View, anchor: _Anchor) -> None:
    left, right = st.columns(2)
    left.radio(
        "Lanes",
        views.LANES,
        key="lanes",
        horizontal=True,
        format_func={"actor": "One per actor", "group": "One per actor group"}.get,
        persist_state="session",
    )
    right.radio(
        "Time axis",
        views.AXES,
        key="axis",
        horizontal=True,
        format_func=AXIS_LABELS.get,
        persist_state="session",
    )
    origin = anchor.origin
    relative = current.axis != "time" and origin is not None
    if current.axis != "time" and origin is None:
        st.info("Time since the anchor needs an anchor event: pick one from an event's details.")
    windowed = current.start is not None or current.end is not None
    fig = figures.timeline_figure(
        frame=shown,
        tz=current.tz,
        lane="actor" if current.lanes == "actor" else "actor_group",
        anchor_id=origin.event_id if origin is not None else None,
        focus_us=None if windowed or current.axis == "log" else reactions.focus_window(origin),
        relative_to_us=origin.start_us if relative else None,
        log=relative and current.axis == "log",
        anchor_frame=anchor.rows,
    )
    if fig.layout.meta and fig.layout.meta.get("mode") == "aggregated":
        st.info(
            f"{len(shown):,} events in view: the chart shows counts per lane and "
            f"{fig.layout.meta.get('bin')}. Narrow the filters or the time window to see single events."
        )
    chosen = st.plotly_chart(
        fig, on_select="rerun", selection_mode=("points",), key="timeline_chart", width="stretch"
    )
    points = (chosen or {}).get("selection", {}).get("points", []) if chosen else []
    ids = [
        p.get("customdata")[0] if isinstance(p.get("customdata"), list) else p.get("customdata")
        for p in points
    ]
    ids = [i for i in ids if i]
    if ids and s.TITLE in shown.columns:  # a selection left over from single events is not one of counts
        _event_details(shown, ids[0], current.tz)
    else:
        st.caption("Click an event to see its full text, its source and every stored field.")
    _figure_download(fig, "timeline", current)


def _figure_download(fig: go.Figure, name: str, current: views.View) -> None:
    """The figure as a standalone HTML page (plotly.js inside, so it opens offline)."""
    st.download_button(
        "Download figure (HTML)",
        lambda: figure_parts.standalone_html(fig, title=f"Event Timeline: {name} of {current.dataset}"),
        file_name=f"{current.dataset}-{name}.html",
        mime="text/html",
        key=f"download-{name}",
    )


def _anchor_caption(anchor: _Anchor, tz: str) -> None:
    origin = anchor.origin
    if origin is None:
        st.info("No anchor event: this dataset has no attack. Make any event the anchor from its details.")
        return
    st.caption(
        f"Time zero (anchor): {_plain(origin.title)} · {display.stated_times(anchor.rows, tz).iloc[0]} · "
        f"event id `{origin.event_id}`"
    )


def _set_log_scale() -> None:
    st.session_state.axis = "log" if st.session_state.log_scale else "relative"


def _reactions_tab(
    shown: pd.DataFrame, details: pa.Table, current: views.View, anchor: _Anchor, version: store.VersionInfo
) -> None:
    """shown: the kept rows of the light frame; the first reactions get their text from details."""
    origin = anchor.origin
    _anchor_caption(anchor, current.tz)
    if origin is None:
        return
    left, middle, right = st.columns([2, 3, 2])
    left.radio(
        "One row per",
        views.GROUPINGS,
        key="by",
        horizontal=True,
        format_func={"actor": "actor", "group": "actor group", "type": "actor type"}.get,
        persist_state="session",
    )
    types = sorted(_counts(version.dataset_id, version.version, s.EVENT_TYPE).index)
    middle.multiselect(
        "Event types that count as a reaction",
        types,
        key=_key("reacts"),
        placeholder="All but " + " and ".join(reactions.NOT_REACTIONS),
        persist_state="session",
    )
    st.session_state.log_scale = current.axis == "log"
    right.toggle("Logarithmic time", key="log_scale", on_change=_set_log_scale)
    first = reactions.first_reactions(
        shown, anchor=origin, by=current.by, types=current.reacts or None, details=details
    )
    fig = reaction_figures.reactions_figure(
        reactions=first, tz=current.tz, log=current.axis == "log", anchor=origin
    )
    st.plotly_chart(fig, width="stretch", key="reactions_chart")
    silent = reactions.silent_lanes(shown, first, by=current.by)
    if silent:
        listed = ", ".join(silent[:30]) + (f" and {len(silent) - 30} more" if len(silent) > 30 else "")
        st.caption(f"No reaction after the anchor from {len(silent)}: {_plain(listed)}.")
    curve = reactions.reacted_curve(first)
    st.plotly_chart(
        reaction_figures.reacted_curve_figure(curve=curve, log=current.axis == "log"),
        width="stretch",
        key="reacted_curve_chart",
    )
    _figure_download(fig, "reactions", current)


def _casualties_tab(shown: pd.DataFrame, current: views.View, anchor: _Anchor) -> None:
    reports = casualties.toll_reports(shown)
    fig = toll_figures.toll_figure(reports=reports, tz=current.tz, anchor=anchor.origin)
    st.plotly_chart(fig, width="stretch", key="toll_chart")
    if len(reports):
        rows = shown.set_index(s.EVENT_ID).loc[reports[s.EVENT_ID]].reset_index()
        listing = pd.DataFrame(
            {
                "time": display.stated_times(rows, current.tz).to_numpy(),
                "measure": reports["measure"].to_numpy(),
                "reported": reports["value"].to_numpy(),
                "reported by": reports[s.ACTOR].astype(str).to_numpy(),
                "source": reports[s.SOURCE_NAME].to_numpy(),
                "link": reports[s.SOURCE_URL].to_numpy(),
            }
        )
        st.dataframe(
            listing,
            hide_index=True,
            width="stretch",
            column_config={"link": st.column_config.LinkColumn("Source link", validate=r"^https?://")},
        )
    _figure_download(fig, "casualties", current)


def _table_tab(
    shown: pd.DataFrame, details: Callable[[], pa.Table], current: views.View, version: store.VersionInfo
) -> None:
    """shown: the kept rows of the light frame; only the listed ones get their text (downloads: all)."""
    listed = frames.with_details(frames.ordered(shown, TABLE_ROWS_SHOWN), details())
    table = pd.DataFrame(
        {
            # Sortable start (wall clock in the display zone) beside the honest wording of the time.
            "start": display.local_times(listed[s.TIMESTAMP], current.tz),
            "time": display.stated_times(listed, current.tz),
            **{c: listed[c] for c in TABLE_COLUMNS},
        }
    )
    if len(shown) > TABLE_ROWS_SHOWN:
        st.caption(
            f"The first {TABLE_ROWS_SHOWN:,} of {len(shown):,} events are listed; "
            "the downloads hold all of them."
        )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "start": st.column_config.DatetimeColumn(
                f"Start ({current.tz})", format="YYYY-MM-DD HH:mm", help="start of the interval; sorts"
            ),
            "time": st.column_config.TextColumn("Time as stated", width="medium"),
            s.SOURCE_URL: st.column_config.LinkColumn(
                "Source link", display_text="open", validate=r"^https?://"
            ),
            s.DESCRIPTION: st.column_config.TextColumn("Description", width="large"),
            s.EVENT_ID: st.column_config.TextColumn("Event id"),
        },
    )
    stem = f"{version.dataset_id}-{version.version}-filtered"
    left, right = st.columns(2)
    left.download_button(
        "Download CSV",
        lambda: store.csv_bytes(frames.to_table(frames.with_details(frames.ordered(shown), details()))),
        file_name=f"{stem}.csv",
        mime="text/csv",
    )
    right.download_button(
        "Download Parquet",
        lambda: store.parquet_bytes(frames.to_table(frames.with_details(frames.ordered(shown), details()))),
        file_name=f"{stem}.parquet",
        mime="application/vnd.apache.parquet",
    )


def _dataset_tab(version: store.VersionInfo) -> None:
    meta = version.meta
    st.markdown(f"#### {_plain(meta.get('name', version.dataset_id))}")
    left, right = st.columns(2)
    left.markdown(
        f"- **Dataset id:** `{version.dataset_id}`\n- **Version:** `{version.version}`\n"
        f"- **Created:** {version.created} \n- **Source file:** {_plain(meta.get('source_file', '?'))}\n"
        f"- **Layout:** {meta.get('preset', '?')}, {meta.get('encoding', '?')}, "
        f"delimiter `{meta.get('delimiter', '?')!r}`\n- **Naive times read in:** {meta.get('tz', 'UTC')}"
    )
    counts = {k: meta.get(k) for k in ("rows_read", "accepted", "rejected", "duplicates")}
    right.dataframe(pd.DataFrame({"count": counts}), width="stretch")
    st.markdown("**Column mapping** (canonical field ← input column)")
    st.dataframe(
        pd.DataFrame(
            {"field": list(meta.get("mapping", {})), "column": list(meta.get("mapping", {}).values())}
        ),
        hide_index=True,
    )
    for notice in meta.get("notices", []):
        st.info(notice)
    rejects = store.load_rejects(version.dataset_id, version.version).to_pandas()
    st.markdown(f"**Rejected rows ({len(rejects):,})**")
    if len(rejects):
        st.dataframe(rejects, hide_index=True, width="stretch")


def _import_panel(upload: st.runtime.uploaded_file_manager.UploadedFile) -> None:
    """Preview an uploaded CSV, let the user adjust the mapping and options, and save it."""
    data = upload.getvalue()
    st.subheader(f"Import {upload.name}")
    c1, c2, c3 = st.columns(3)
    order = c1.radio(
        "Numeric dates",
        ["auto", "dayfirst", "monthfirst"],
        horizontal=True,
        format_func={"auto": "detect", "dayfirst": "day first", "monthfirst": "month first"}.get,
    )
    tz = c2.selectbox("Times without offset are in", _zones(), index=_zones().index("UTC"), key="import_tz")
    name = c3.text_input("Dataset name", value=upload.name.rsplit(".", 1)[0], key="import_name")
    digest = hashlib.sha256(data).hexdigest()
    overrides: dict[str, str | None] = st.session_state.setdefault(f"overrides::{digest}", {})
    try:
        result = _read_upload(
            data, ImportOptions(file_name=upload.name, mapping=dict(overrides), tz=tz, date_order=order)
        )
    except TimelineError as exc:
        st.error(f"This file cannot be imported: {exc}")
        return
    with st.expander("Column mapping (change any field)", expanded=False):
        columns = [NO_COLUMN, *result.columns]
        grid = st.columns(4)
        for position, field_name in enumerate(s.MAPPABLE_FIELDS):
            current = result.mapping.get(
                field_name, result.mapping.get("date") if field_name == s.TIMESTAMP else None
            )
            chosen = grid[position % 4].selectbox(
                field_name,
                columns,
                index=columns.index(current) if current in columns else 0,
                key=f"map::{digest}::{field_name}",
            )
            if chosen != (current or NO_COLUMN):
                overrides[field_name] = None if chosen == NO_COLUMN else chosen
                st.rerun()
    st.markdown(
        f"**{result.rows_read:,} rows read: {result.accepted:,} accepted, {result.rejected:,} rejected, "
        f"{result.duplicates:,} exact duplicates dropped** · layout {result.preset}, {result.encoding}, "
        f"delimiter `{result.delimiter!r}`"
    )
    for notice in result.notices:
        st.info(notice)
    preview = result.events.slice(0, 20).to_pandas()
    st.dataframe(preview.drop(columns=[s.EXTRA]), hide_index=True, width="stretch")
    if result.rejected:
        st.markdown("**Rejected rows and why**")
        st.dataframe(result.rejects.to_pandas(), hide_index=True, width="stretch")
    existing = {d.dataset_id for d in store.list_datasets()}
    try:
        dataset_id = store.slugify(name)
    except TimelineError as exc:
        st.error(str(exc))
        return
    append = False
    if dataset_id in existing:
        append = st.checkbox(
            f"Merge into the newest version of {dataset_id!r} (otherwise replace it with a new version)"
        )
    if result.accepted == 0:
        st.error("No row could be imported, so there is nothing to save.")
        return
    options = ImportOptions(file_name=upload.name, mapping=dict(overrides), tz=tz, date_order=order)
    st.button(
        f"Save as dataset {dataset_id!r}",
        type="primary",
        on_click=_save_upload,
        args=(data, result, options, name, dataset_id, append),
    )


def _save_upload(
    data: bytes, result: ImportResult, options: ImportOptions, name: str, dataset_id: str, append: bool
) -> None:
    """Store the import and switch the page to it (a callback: it runs before the widgets are drawn)."""
    meta = version_meta(result, name=name, source_file=options.file_name, options=options)
    try:
        info = store.save(
            result.events, result.rejects, meta, dataset_id=dataset_id, append=append, source=data
        )
    except TimelineError as exc:
        st.session_state.notices.append(f"The dataset was not saved: {exc}")
        return
    st.session_state.dataset = info.dataset_id
    st.session_state[f"version::{info.dataset_id}"] = info.version
    st.session_state.seeded.add(info.dataset_id)
    st.session_state.uploader_generation = st.session_state.get("uploader_generation", 0) + 1
    st.session_state.saved = (
        f"Saved {result.accepted:,} events as {info.dataset_id!r} (version {info.version})."
    )


def main() -> None:
    _url_view()
    datasets = store.list_datasets()
    if not datasets:
        st.error("The data store is empty. Rebuild the bundled dataset with `make data`.")
        return
    upload = st.sidebar.file_uploader(
        "Import a CSV / TSV",
        type=["csv", "tsv", "txt"],
        key=f"upload::{st.session_state.get('uploader_generation', 0)}",
        help="Any common encoding, delimiter and date format; you review the mapping before saving.",
    )
    version = _choose_dataset(datasets)
    messages, header = st.container(), st.container()
    tab_objects = st.tabs(list(TAB_LABELS.values()), key="tab", on_change="rerun")
    tabs = list(zip(TAB_LABELS, tab_objects, strict=True))
    name, tab = next(((n, t) for n, t in tabs if t.open), tabs[0])
    with tab:
        slot = st.empty()
    st.session_state.painted = True

    frame = _frame(version.dataset_id, version.version)
    _seed_filters(frame)
    current = _filters(version)
    link = _sync_url(current)

    with messages:
        if saved := st.session_state.pop("saved", None):
            st.success(saved)
        for notice in st.session_state.notices:
            st.warning(notice)
        if current.version:
            st.info(
                f"This link opens version {current.version} of {current.dataset!r}; a newer version exists."
            )
        if upload is not None:
            _import_panel(upload)
            st.divider()

    search = _search_text(version.dataset_id, version.version) if current.query else None
    kept = views.select(frame, current, search)
    details = functools.partial(_details, version.dataset_id, version.version)  # loaded only when needed

    shown_count = int(kept.sum())
    anchor_id = current.anchor or _default_anchor(
        version.dataset_id, version.version, version.meta.get("anchor")
    )
    rows = _anchor_rows(version.dataset_id, version.version, anchor_id)
    anchor = _Anchor(rows, reactions.anchor_of(rows, anchor_id))
    head, share = header.columns([5, 1])
    head.markdown(
        f"**Showing {shown_count:,} of {len(frame):,} events** · times in {display.zone_label(current.tz)} · "
        f"{_plain(views.describe(current))}"
    )
    with share.popover("Copy link", width="stretch"):
        st.caption("This link opens exactly this view:")
        st.code(link, language=None, wrap_lines=True)

    with slot.container():
        if name == "timeline":
            # Counts per lane need few columns, and copying a million rows of text is what costs.
            counted = shown_count > figures.MAX_EVENTS and current.axis != "log"
            if counted:
                _timeline_tab(views.rows(frame, kept, figures.AGGREGATED_COLUMNS), current, anchor)
            else:
                _timeline_tab(views.rows(frame, kept, details=details()), current, anchor)
        elif name == "reactions":
            _reactions_tab(views.rows(frame, kept), details(), current, anchor, version)
        elif name == "casualties":
            # Only events that report a toll are read for it.
            text = details()
            reported = pc.or_(pc.is_valid(text[s.FATALITIES]), pc.is_valid(text[s.INJURED])).to_numpy()
            _casualties_tab(views.rows(frame, kept & reported, details=text), current, anchor)
        elif name == "table":
            _table_tab(views.rows(frame, kept), details, current, version)
        else:
            _dataset_tab(version)


try:
    main()
except TimelineError as problem:
    st.error(str(problem))
except Exception:  # the last guard: a sentence on the page, the traceback only in the server log
    logging.getLogger("event_timeline").exception("the page failed")
    st.error(
        "Something went wrong while drawing this view. The details are in the server log. "
        "Try “Reset filters”, or open the page without its link parameters."
    )
finally:
    LOADING.empty()
