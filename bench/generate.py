"""Deterministic event CSVs shaped like ACLED/GDELT extracts (`python -m bench.generate N OUT [--no-id]`).

Columns: id, date, actor, actor_country, type, title, description, source, url, fatalities, location;
with --no-id the id column is left out (the importer then makes ids from each row's content).
Dates are ISO 8601 over 60 days from 2024-03-01 UTC, with offsets from several zones (+03:00, Z, -04:00,
+01:00, +05:30); about 12 % are minute precision and 8 % date only (day precision). 200 actors (20 countries
x 10 roles) follow a Zipf-like skew, 10 event types a skewed mix. Descriptions hold commas and quotes, a
few are empty; about 10 % of URLs and most fatalities are missing. Everything is vectorised (numpy and
pyarrow compute), so a million rows take a few seconds; the same (n, seed) gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

START = np.datetime64("2024-03-01T00:00:00", "s")
DAYS = 60
COUNTRIES = (
    "Russia",
    "Ukraine",
    "United States",
    "France",
    "Germany",
    "United Kingdom",
    "Turkey",
    "Iran",
    "India",
    "China",
    "Belarus",
    "Poland",
    "Israel",
    "Egypt",
    "Brazil",
    "Kazakhstan",
    "Tajikistan",
    "Afghanistan",
    "Pakistan",
    "Syria",
)
ROLES = (
    "Ministry of Foreign Affairs",
    "President",
    "Ministry of Defence",
    "Interior Ministry",
    "Police",
    "Armed Forces",
    "State Media",
    "Opposition Party",
    "Red Crescent",
    "Militia",
)
ACTORS = tuple(f"{role} of {country}" for country in COUNTRIES for role in ROLES)
ACTOR_COUNTRIES = tuple(country for country in COUNTRIES for _ in ROLES)
TYPES = (
    "statement",
    "attack",
    "condemnation",
    "claim",
    "condolence",
    "arrest",
    "warning",
    "casualty_update",
    "investigation",
    "meeting",
)
TYPE_WEIGHTS = np.array([30, 14, 12, 8, 8, 7, 6, 6, 5, 4], dtype=float)
VERBS = (
    "issues statement on",
    "reports attack near",
    "condemns violence in",
    "claims responsibility for strike in",
    "offers condolences to",
    "announces arrests in",
    "warns of escalation in",
    "updates casualty figures for",
    "opens investigation into events in",
    "holds meeting on",
)
CITIES = (
    "Moscow",
    "Kyiv",
    "Kharkiv",
    "Odesa",
    "Krasnogorsk",
    "Minsk",
    "Warsaw",
    "Paris",
    "Berlin",
    "London",
    "Istanbul",
    "Tehran",
    "Dushanbe",
    "Kabul",
    "Islamabad",
    "Damascus",
    "Cairo",
    "Delhi",
    "Beijing",
    "Brasilia",
    "Almaty",
    "Belgorod",
    "Donetsk",
    "Kherson",
    "Zaporizhzhia",
)
OUTLETS = (
    "Reuters",
    "AP",
    "AFP",
    "TASS",
    "RIA Novosti",
    "Interfax",
    "Meduza",
    "BBC",
    "Al Jazeera",
    "Ukrainska Pravda",
    "Kyiv Independent",
    "Le Monde",
    "Der Spiegel",
    "Anadolu",
    "IRNA",
)
PHRASES = (
    "Officials said the situation was under control",
    'A spokesperson said: "we will respond"',
    "Witnesses reported explosions, gunfire and smoke",
    "The statement, published late in the evening, called for calm",
    'Local media described the scene as "chaos"',
    "No group has yet claimed responsibility",
    "The toll is expected to rise, officials warned",
    "Talks on a ceasefire continued behind closed doors",
    "Several suspects were detained near the border",
    "Emergency services, police and volunteers were on site",
    "The ministry denied the reports",
    "Flags flew at half-mast across the region",
)
# (offset text, offset minutes, share of rows)
ZONES = (
    ("+03:00", 180, 0.35),
    ("Z", 0, 0.25),
    ("-04:00", -240, 0.15),
    ("+01:00", 60, 0.15),
    ("+05:30", 330, 0.10),
)
MINUTE_SHARE, DAY_SHARE = 0.12, 0.08
URL_MISSING, DESCRIPTION_EMPTY, FATALITIES_PRESENT = 0.10, 0.02, 0.08
ZIPF_EXPONENT = 1.1
COLUMNS = (
    "id",
    "date",
    "actor",
    "actor_country",
    "type",
    "title",
    "description",
    "source",
    "url",
    "fatalities",
    "location",
)


def _take(words: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(words, pa.string()).take(pa.array(index))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _instants(rng: np.random.Generator, n: int) -> np.ndarray:
    """UTC seconds since START: a uniform background plus bursts around a few incidents."""
    span = DAYS * 86_400
    seconds = rng.integers(0, span, n)
    burst = rng.random(n) < 0.3
    centres = np.array([21.7, 22.1, 35.4, 48.9]) * 86_400
    around = centres[rng.integers(0, len(centres), n)] + rng.exponential(8 * 3600, n)
    seconds = np.where(burst, around, seconds)
    return np.clip(seconds, 0, span - 1).astype(np.int64)


def _dates(rng: np.random.Generator, seconds: np.ndarray) -> pa.Array:
    n = len(seconds)
    zone = rng.choice(len(ZONES), n, p=[z[2] for z in ZONES])
    offsets = np.array([z[1] for z in ZONES], dtype=np.int64)[zone]
    local = pa.array(START + (seconds + offsets * 60).astype("timedelta64[s]"), pa.timestamp("s"))
    precision = rng.random(n)
    as_seconds = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S")
    as_minutes = pc.strftime(local, format="%Y-%m-%dT%H:%M")
    as_day = pc.strftime(local, format="%Y-%m-%d")
    timed = pc.if_else(pa.array(precision < MINUTE_SHARE), as_minutes, as_seconds)
    with_offset = _join(timed, _take(tuple(z[0] for z in ZONES), zone))
    return pc.if_else(pa.array(precision > 1 - DAY_SHARE), as_day, with_offset)


def table(n: int, seed: int = 0, *, with_id: bool = True) -> pa.Table:
    """n events as string/integer columns, in file order (not sorted by time); without the id column
    when with_id is false (every other column is the same, so both files hold the same events)."""
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(ACTORS) + 1) ** ZIPF_EXPONENT
    # Popularity is not the listing order: rank r goes to a shuffled actor, the same for every seed.
    ranked = np.random.default_rng(12345).permutation(len(ACTORS))
    actor = ranked[rng.choice(len(ACTORS), n, p=weights / weights.sum())]
    kind = rng.choice(len(TYPES), n, p=TYPE_WEIGHTS / TYPE_WEIGHTS.sum())
    city = rng.integers(0, len(CITIES), n)
    outlet = rng.integers(0, len(OUTLETS), n)
    seconds = _instants(rng, n)
    ids = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), 8, "0")
    actor_names = _take(ACTORS, actor)
    title = _join(actor_names, " ", _take(VERBS, kind), " ", _take(CITIES, city))
    description = _join(
        _take(PHRASES, rng.integers(0, len(PHRASES), n)),
        ", ",
        _take(CITIES, city),
        ". ",
        _take(PHRASES, rng.integers(0, len(PHRASES), n)),
        ".",
    )
    missing = pa.scalar(None, pa.string())
    description = pc.if_else(pa.array(rng.random(n) < DESCRIPTION_EMPTY), missing, description)
    slug = pc.utf8_lower(pc.replace_substring(_take(OUTLETS, outlet), " ", "-"))
    url = _join("https://", slug, ".example.org/2024/", ids)
    url = pc.if_else(pa.array(rng.random(n) < URL_MISSING), missing, url)
    violent = np.isin(kind, [TYPES.index("attack"), TYPES.index("casualty_update")])
    counted = violent & (rng.random(n) < FATALITIES_PRESENT * 6) | (rng.random(n) < 0.01)
    fatalities = pa.array(rng.geometric(0.05, n).astype(np.int32), mask=~counted)
    columns = {
        "id": _join("ev-", ids),
        "date": _dates(rng, seconds),
        "actor": actor_names,
        "actor_country": _take(ACTOR_COUNTRIES, actor),
        "type": _take(TYPES, kind),
        "title": title,
        "description": description,
        "source": _take(OUTLETS, outlet),
        "url": url,
        "fatalities": fatalities,
        "location": _take(CITIES, city),
    }
    if not with_id:
        del columns["id"]
    return pa.table(columns)


def generate(path: str | Path, n: int, seed: int = 0, *, with_id: bool = True) -> Path:
    """Write n generated events as a UTF-8 CSV (header, comma, quoted where needed) to path; with_id=False
    leaves out the id column (the importer then makes ids from each row's content)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pcsv.write_csv(table(n, seed, with_id=with_id), tmp, pcsv.WriteOptions(quoting_style="needed"))
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of events")
    parser.add_argument("out", help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-id",
        dest="with_id",
        action="store_false",
        help="leave out the id column (ids made from content)",
    )
    args = parser.parse_args(argv)
    path = generate(args.out, args.n, args.seed, with_id=args.with_id)
    print(f"{args.n:,} events -> {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
