"""Typed settings, read once from the environment (and a `.env` file), with embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-in-production-this-is-only-for-local-use"  # noqa: S105 - the refused example
# File systems on which SQLite's locking cannot be trusted (its own documentation warns against them).
NETWORK_FILE_SYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "ceph", "glusterfs", "afs", "fuse.rclone"}
)


class Settings(BaseSettings):
    """Every option of the platform. Environment variables carry the `DIASPORA_` prefix."""

    model_config = SettingsConfigDict(env_prefix="DIASPORA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where the embedded SQLite file and caches live."
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means a SQLite file in data_dir. "
        "PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )
    database_echo: bool = False
    production: bool = Field(
        default=False,
        description="A server for real people: refuses to start with the built-in secret key, cookies "
        "without Secure, or SQLite on a network file system; turns HSTS and Secure cookies on.",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        min_length=32,
        description="Signs CSRF tokens. Set a long random value in production.",
    )
    password_hash_time_cost: int = Field(default=3, ge=1, le=20, description="Argon2id passes.")
    password_hash_memory_kib: int = Field(
        default=65_536, ge=8, le=4_194_304, description="Argon2id memory per hash (KiB)."
    )
    session_ttl_hours: int = Field(
        default=24, ge=1, le=24 * 90, description="A login lasts at most this long, used or not."
    )
    session_idle_minutes: int = Field(
        default=120, ge=1, le=60 * 24 * 30, description="A login unused for this long ends."
    )
    cookie_secure: bool | None = Field(
        default=None, description="Send cookies over HTTPS only; unset means: in production mode yes."
    )
    hsts: bool | None = Field(
        default=None, description="Send Strict-Transport-Security; unset means: in production mode yes."
    )
    auth_attempts_per_minute: int = Field(
        default=10,
        ge=1,
        description="Sign-in and registration requests a client address may send a minute.",
    )
    login_failures_per_account: int = Field(
        default=5, ge=1, description="Failed sign-ins for one account before it is refused for the window."
    )
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    anonymous_answer_floor_ms: int = Field(
        default=400,
        ge=0,
        le=5000,
        description="Registration and reset requests answer no sooner than this, whether or not the email "
        "has an account, so their timing does not tell a stranger who is a member.",
    )
    redis_url: str = Field(
        default="", description="Redis for the rate-limit counters; empty: the database holds them."
    )
    max_request_body_bytes: int = Field(default=1_000_000, ge=1024)
    search_backend: Literal["embedded", "meilisearch"] = "embedded"
    warm_up_on_start: bool = Field(
        default=True,
        description="Load the encoder at start rather than in the first request that needs it, then move "
        "everything loaded into the garbage collector's permanent generation (gc.freeze): full collections "
        "otherwise walk the model's and caches' objects and stall requests for hundreds of milliseconds.",
    )
    search_hybrid: bool = Field(
        default=True,
        description="Search by meaning as well as by words, with the matcher's encoder: a query in one "
        "language finds documents written in another. Off: words only (no encoder is loaded for search).",
    )
    meili_url: str = Field(default="", validation_alias="MEILI_URL")
    meili_master_key: str = Field(default="", validation_alias="MEILI_MASTER_KEY")
    search_sync_in_process: bool | None = Field(
        default=None,
        description="Run the background jobs (outbox consumers for search and mail, expiry of invitations "
        "and sessions, embedding sync) inside the web process; unset means: with the embedded search back "
        "end yes (no worker is needed), with Meilisearch no (the worker runs them).",
    )
    housekeeping_interval_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How often sessions and invitations are expired."
    )
    job_lease_seconds: float = Field(
        default=15.0,
        ge=1,
        le=600,
        description="Background jobs run in one process at a time (web processes in embedded mode, workers "
        "otherwise): the one that runs them holds a lease this long and renews it every third of it; when "
        "it dies, another takes over this long after.",
    )
    search_sync_interval_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="How often the outbox is polled for other processes' changes."
    )
    smtp_host: str = Field(default="", description="SMTP server; empty: mail goes to a local mailbox file.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where people reach the site: the base of links in mail."
    )
    mail_from: str = Field(default="Diaspora platform <no-reply@localhost>", description="Sender of mail.")
    mailbox_path: Path | None = Field(
        default=None, description="The local mailbox (mbox) used without SMTP; default data_dir/mailbox.mbox."
    )
    embedding_model: str = Field(
        default="packaged:multilingual-e5-small+all-MiniLM-L6-v2",
        description="The encoder: the packaged blend (default, multilingual), "
        "'packaged:multilingual-e5-small', 'packaged:all-MiniLM-L6-v2' (English only), or a "
        "sentence-transformers model name or path.",
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="torch",
        description="What runs the encoder: 'torch' (default: sentence-transformers as it comes; what runs "
        "on a GPU), 'onnx' (ONNX Runtime, the same vectors) or 'onnx-int8' (int8 matrix products: about "
        "1.4x the texts per second on CPU, within 0.005 nDCG@10 on the dev set, 0.011 lower cross-lingual "
        "accuracy). ONNX models are exported once per machine into the model cache.",
    )
    match_index_dtype: Literal["float16", "float32"] = Field(
        default="float16", description="Storage of the in-memory embedding matrix."
    )
    map_min_cell: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="The diaspora map and its exports show no group of fewer people than this (and hide a "
        "second group where one hidden group could be worked out from a total).",
    )
    match_snapshots: bool = Field(
        default=True,
        description="Keep a snapshot of the profile index in data_dir/snapshots: a starting process opens it "
        "(memory-mapped, shared by the processes of a host) and catches up, instead of loading every vector "
        "from the database.",
    )
    match_rerank_depth: int = Field(default=200, ge=10, le=5000, description="Candidates scored in full.")
    match_link_depth: int = Field(
        default=100,
        ge=0,
        le=5000,
        description="Candidates found through the query's occupation links besides the semantic ones (the "
        "closest linked to the same occupation, and half as many of its ISCO unit group); 0 turns it off.",
    )
    match_refresh_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="A matching request brings the matcher up to date with what other processes wrote once "
        "its last refresh is older than this (what this process writes is seen at once); 0: every request.",
    )
    match_compact_min_rows: int = Field(
        default=50_000,
        ge=1_000,
        description="Profiles from which broad filters are served from a compact code of the index.",
    )
    match_link_by_meaning: bool = Field(
        default=True,
        description="Link titles no occupation label spells (most that are not English) to occupations by "
        "meaning too, with the encoder; its label vectors are encoded once per model in the model cache.",
    )
    match_weight_semantic: float = Field(default=0.55, ge=0)
    match_weight_occupation: float = Field(default=0.30, ge=0)
    match_weight_lexical: float = Field(
        default=0.03,
        ge=0,
        description="Weight of the titles' shared wording (BM25 over words and character n-grams, "
        "matching/lexical.py); 0 leaves it out.",
    )
    match_weight_skills: float = Field(default=0.30, ge=0)
    match_weight_availability: float = Field(default=0.10, ge=0)
    match_weight_languages: float = Field(default=0.05, ge=0)
    match_skill_threshold: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Least similarity for a profile skill to cover a required one; empty: the model's own "
        "(matching/calibration.py).",
    )
    migrate_on_start: bool = Field(default=True, description="Apply pending migrations when the app starts.")
    templates_dir: Path | None = Field(default=None, description="Override the page templates folder.")
    debug: bool = False

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'diaspora.sqlite3').resolve()}"

    @property
    def sync_search_in_process(self) -> bool:
        if self.search_sync_in_process is not None:
            return self.search_sync_in_process
        return self.search_backend == "embedded"

    @property
    def effective_mailbox_path(self) -> Path:
        return self.mailbox_path or self.data_dir / "mailbox.mbox"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.production if self.cookie_secure is None else self.cookie_secure

    @property
    def send_hsts(self) -> bool:
        return self.production if self.hsts is None else self.hsts

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for a server that real people use (empty when fine)."""
        problems = []
        if self.secret_key == DEFAULT_SECRET_KEY:
            problems.append("DIASPORA_SECRET_KEY is the built-in example; set a long random value")
        if self.password_hash_time_cost < 2 or self.password_hash_memory_kib < 19_456:
            problems.append("password hashing is cheaper than OWASP's minimum (2 passes, 19 MiB)")
        if not self.secure_cookies:
            problems.append("DIASPORA_COOKIE_SECURE is off; cookies must travel over HTTPS only")
        if self.is_sqlite:
            database = Path(self.effective_database_url.split("///", 1)[-1])
            kind = filesystem_type(database.parent)
            if kind in NETWORK_FILE_SYSTEMS:
                problems.append(f"the SQLite file is on a network file system ({kind}); use PostgreSQL")
        return problems


def filesystem_type(path: Path, mounts: Path = Path("/proc/mounts")) -> str | None:
    """The type of the file system holding `path`, from the longest matching mount point."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fields[2])
    return best[1] if best else None


def get_settings() -> Settings:
    """Settings from the environment; a fresh object each call so tests can vary them."""
    return Settings()
