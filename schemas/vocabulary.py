"""The project's vocabulary, each concept defined once as an enum: platforms (with the
spellings and web domains that name them), tiers (in size order), what happened to a file,
why a file was not read, how a repeated row was judged, how reach was estimated, and the
audience-quality flags.

Every member is a ``str`` (``Platform.TIKTOK == "tiktok"``), so the code goes into tables
and JSON as plain text. Standard library only: the CLI imports this before anything heavy.
"""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    """A social platform. ``spellings``: how columns, file names and headers write it
    (lower case; products of a platform and its domains included); ``profile_domains``:
    the domains of its profile URLs (``tiktok.com/@handle``)."""

    spellings: tuple[str, ...]
    profile_domains: tuple[str, ...]

    def __new__(
        cls, code: str, spellings: tuple[str, ...], profile_domains: tuple[str, ...]
    ) -> Platform:
        member = str.__new__(cls, code)
        member._value_ = code
        member.spellings = spellings
        member.profile_domains = profile_domains
        return member

    INSTAGRAM = (
        "instagram",
        ("instagram", "ig", "insta", "instagram reels", "reels", "ig reels", "instagram.com",
         "www.instagram.com", "instagr.am"),
        ("instagram.com",),
    )  # fmt: skip
    TIKTOK = (
        "tiktok",
        ("tiktok", "tik tok", "tik-tok", "tt", "douyin", "tiktok.com", "www.tiktok.com",
         "vm.tiktok.com"),
        ("tiktok.com",),
    )  # fmt: skip
    YOUTUBE = (
        "youtube",
        ("youtube", "yt", "you tube", "youtube shorts", "shorts", "yt shorts", "youtube.com",
         "www.youtube.com", "youtu.be", "m.youtube.com"),
        ("youtube.com",),
    )  # fmt: skip
    X = (
        "x",
        ("x", "twitter", "x (twitter)", "twitter (x)", "twitter/x", "x/twitter", "x.com",
         "twitter.com", "www.twitter.com", "x (formerly twitter)"),
        ("x.com", "twitter.com"),
    )  # fmt: skip
    FACEBOOK = (
        "facebook",
        ("facebook", "fb", "facebook.com", "www.facebook.com", "fb.com"),
        ("facebook.com",),
    )
    TWITCH = ("twitch", ("twitch", "twitch.tv", "www.twitch.tv"), ("twitch.tv",))

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(p.value for p in cls)

    @classmethod
    def spelling_lookup(cls) -> dict[str, str]:
        """Every spelling (lower case) -> the platform code."""
        return {s: p.value for p in cls for s in p.spellings}

    @classmethod
    def profile_domain_lookup(cls) -> dict[str, str]:
        """Profile-URL domain -> the platform code."""
        return {d: p.value for p in cls for d in p.profile_domains}


class Tier(StrEnum):
    """Influencer tiers, in size order (the rate card's schemes set their bounds)."""

    NANO = "nano"
    MICRO = "micro"
    MID = "mid"
    MACRO = "macro"
    MEGA = "mega"

    @property
    def rank(self) -> int:
        """1 = nano ... 5 = mega (tier names do not sort in tier order)."""
        return list(Tier).index(self) + 1

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(t.value for t in cls)


class FileStatus(StrEnum):
    """What happened to one delivery (file or workbook sheet) in a run."""

    OK = "ok"  # read; its rows are enriched or quarantined row by row
    QUARANTINED = "quarantined"  # refused whole (source_row null in quarantine)


class SkipReason(StrEnum):
    """Why a file under the inputs was not read by a run."""

    ALREADY_PROCESSED = "already_processed"  # same path, bytes and options as before
    HIDDEN = "hidden"
    OFFICE_LOCK_FILE = "office_lock_file"
    NOT_AN_EXPORT = "not_an_export"
    BROKEN_SYMLINK = "broken_symlink"
    NOT_A_FILE = "not_a_file"
    PERMISSION_DENIED = "permission_denied"
    UNREADABLE_FOLDER = "unreadable_folder"
    SYMLINK_LOOP = "symlink_loop"
    OUTPUT_FOLDER = "output_folder"


class DuplicateStatus(StrEnum):
    """How a row whose key repeats within one delivery is judged (``transforms.dedupe``)."""

    KEPT = "kept"  # the first row of the key
    DUPLICATE = "duplicate"  # same values as the kept row: collapsed, counted
    CONFLICT = "conflict"  # other values: quarantined as duplicate_conflict


class ReachMethod(StrEnum):
    """How ``est_reach`` was found, in the order the estimate tries them."""

    meaning: str

    def __new__(cls, code: str, meaning: str) -> ReachMethod:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    OBSERVED_VIEWS = ("observed_views", "the export's average views")
    HISTORY = ("history", "the creator's latest earlier observed average views")
    MODEL_INTERACTIONS = (
        "model_interactions",
        "views predicted from log followers and log interactions "
        "(per-platform least squares fitted in the run)",
    )
    MODEL_FOLLOWERS = ("model_followers", "views predicted from log followers (fitted in the run)")
    BENCHMARK = ("benchmark", "followers x the rate card's cited reach rate (platform, tier)")


class FlagStrength(StrEnum):
    STRONG = "strong"  # evidence that can decide audience_quality alone
    WEAK = "weak"  # can only lower a level (docs/QUALITY.md)


class QualityFlag(StrEnum):
    """The audience-quality flags of ``transforms.quality`` (``quality_flags``)."""

    strength: FlagStrength
    meaning: str

    def __new__(cls, code: str, strength: FlagStrength, meaning: str) -> QualityFlag:
        member = str.__new__(cls, code)
        member._value_ = code
        member.strength = strength
        member.meaning = meaning
        return member

    LOW_AUTHENTIC_ENGAGEMENT = (
        "low_authentic_engagement",
        FlagStrength.STRONG,
        "avg_engagement_authentic / avg_engagement below the authentic share a real audience "
        "has (authentic_ratio.high_min)",
    )
    LOW_VENDOR_QUALITY_SCORE = (
        "low_vendor_quality_score",
        FlagStrength.STRONG,
        "vendor audience quality score (HypeAuditor AQS) below vendor_score.aqs_low_below",
    )
    LOW_AUDIENCE_CREDIBILITY = (
        "low_audience_credibility",
        FlagStrength.STRONG,
        "vendor audience credibility / authenticity below vendor_score.credibility_high_min",
    )
    ENGAGEMENT_FAR_ABOVE_PEERS = (
        "engagement_far_above_peers",
        FlagStrength.WEAK,
        "engagement rate far above the peer median (log scale)",
    )
    ENGAGEMENT_FAR_BELOW_PEERS = (
        "engagement_far_below_peers",
        FlagStrength.WEAK,
        "engagement rate far below the peer median (log scale)",
    )
    VIEWS_FAR_BELOW_FOLLOWERS = (
        "views_far_below_followers",
        FlagStrength.WEAK,
        "average views per follower far below the peer median",
    )
    FOLLOWER_JUMP = (
        "follower_jump",
        FlagStrength.WEAK,
        "follower growth since the previous snapshot far beyond the tier's and the "
        "creator's usual growth",
    )
