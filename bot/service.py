"""Parley's use cases: what each command does, independent of the chat platform.

``Parley.handle`` takes the text of a ``/deadline`` or ``/position`` command
and returns the messages to deliver (``bot.messages.Message``); adapters
deliver them. A user's mistake never escapes as an exception: it becomes an
ephemeral message saying what was understood and how to fix it, and nothing
is written. A vague time ("Friday evening") writes nothing either: the reply
offers choices (``bot.usecases.choices``). Button presses and form
submissions have their own entry points. Setting due times lives in
``bot.usecases.schedule``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from bot import notices, views
from bot.domain import (
    PARTY_MAX,
    STANCE_ALIASES,
    TERMS_MAX,
    Change,
    ChangeKind,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Position,
    PositionRequest,
    Stance,
    format_offset,
    plan_alerts,
)
from bot.errors import (
    AmbiguousReference,
    FormError,
    InvalidInput,
    NotFound,
    StorageUnavailable,
    UserError,
    VagueTime,
    chat_text,
)
from bot.grammar import (
    AddDeadline,
    AskPositions,
    CancelDeadline,
    Command,
    CompleteDeadline,
    ExtendDeadline,
    FeedRequest,
    Help,
    ListDeadlines,
    ListPositions,
    MoveDeadline,
    OpenPositionForm,
    RecordPosition,
    Ref,
    SetReminders,
    ShowDeadline,
)
from bot.help import HELP_DEADLINE, HELP_POSITION
from bot.messages import Audience, Message
from bot.observe import (
    CommandObserver,
    CommandObservers,
    command_name,
    observing,
    observing_press,
    parse_observed,
)
from bot.ports import Clock, DeadlineStore
from bot.usecases import choices, schedule

ASK_MAX = 50
# `/deadline list` shows what still needs attention: open deadlines, and missed
# ones until someone marks them done or cancels them.
UNSETTLED = frozenset({DeadlineStatus.OPEN, DeadlineStatus.MISSED})


class FeedLinks(Protocol):
    """Issues private calendar feed URLs (implemented with the feed store)."""

    async def feed_url(self, *, ctx: Context, scope: str) -> str: ...

    async def event_url(self, *, deadline: Deadline) -> str | None: ...


class Parley:
    """The use cases, wired to a repository and a clock."""

    def __init__(
        self,
        *,
        repository: DeadlineStore,
        clock: Clock,
        feeds: FeedLinks | None = None,
        on_change: Callable[[], None] | None = None,
        observer: CommandObserver | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.feeds = feeds
        self._on_change = on_change or (lambda: None)
        self._choices = choices.ChoiceLedger()
        self.observer = observer or CommandObservers()

    # --- entry points ----------------------------------------------------
    async def handle(self, *, ctx: Context, command: str, text: str) -> list[Message]:
        """Run one slash command (``command`` is ``deadline`` or ``position``)."""
        try:
            return await self._run(ctx, command, text)
        except (UserError, StorageUnavailable) as error:
            return [views.error_message(chat_text(error), user_id=ctx.user_id)]

    async def _run(self, ctx: Context, command: str, text: str) -> list[Message]:
        """Parse and execute; a vague time becomes its choices."""
        parsed = parse_observed(self.observer, ctx=ctx, command=command, text=text)
        try:
            return await self.execute(ctx=ctx, command=parsed)
        except VagueTime as vague:
            if not isinstance(parsed, AddDeadline | ExtendDeadline | MoveDeadline):
                raise
            if not isinstance(parsed, AddDeadline) and parsed.ref.number is None:
                # The choices name the deadline by number: a title prefix may stop matching.
                deadline = await self.resolve(ctx, parsed.ref)
                parsed = replace(parsed, ref=Ref(number=deadline.number, prefix=""))
            return [choices.offer(vague, ctx=ctx, command=parsed, now=self.clock.now())]

    async def execute(self, *, ctx: Context, command: Command) -> list[Message]:
        """Run a parsed command; raises ``UserError`` for a mistake in it."""
        with observing(self.observer, ctx=ctx, name=command_name(command)):
            return await self._execute(ctx, command)

    async def _execute(self, ctx: Context, command: Command) -> list[Message]:
        match command:
            case Help(topic=topic):
                text = HELP_DEADLINE if topic == "deadline" else HELP_POSITION
                return [views.info_message(text, user_id=ctx.user_id)]
            case AddDeadline():
                messages = await schedule.add_deadline(
                    repository=self.repository,
                    now=self.clock.now(),
                    ctx=ctx,
                    command=command,
                    event_url=self.event_url,
                )
                self._on_change()
                return messages
            case ListDeadlines(include_closed=include_closed):
                return await self._list(ctx, include_closed)
            case ShowDeadline(ref=ref):
                return await self._show(ctx, ref)
            case ExtendDeadline() | MoveDeadline():
                return await self._reschedule(ctx, command)
            case CompleteDeadline(ref=ref):
                return await self._close(ctx, ref, DeadlineStatus.MET)
            case CancelDeadline(ref=ref):
                return await self._close(ctx, ref, DeadlineStatus.CANCELLED)
            case SetReminders():
                return await self._set_reminders(ctx, command)
            case FeedRequest(scope=scope):
                return await self._feed(ctx, scope)
            case RecordPosition():
                deadline = await self.resolve(ctx, command.ref)
                return await self._record_position(
                    ctx, deadline, stance=command.stance, party=command.party, terms=command.terms
                )
            case OpenPositionForm(ref=ref):
                deadline = await self.resolve(ctx, ref)
                return [await self._form(ctx, deadline)]
            case ListPositions(ref=ref):
                deadline = await self.resolve(ctx, ref)
                return [await self._matrix(ctx, deadline)]
            case AskPositions():
                return await self._ask(ctx, command)

    async def press(self, *, ctx: Context, action_id: str, value: str) -> list[Message]:
        """A button of ``views.CORE_ACTIONS`` (a stance, the form, a time choice) was pressed."""
        try:
            with observing_press(self.observer, ctx=ctx, action_id=action_id):
                return await self._press(ctx, action_id, value)
        except ValueError:
            return [views.error_message("That button is out of date.", user_id=ctx.user_id)]
        except (UserError, StorageUnavailable) as error:
            return [views.error_message(chat_text(error), user_id=ctx.user_id)]

    async def _press(self, ctx: Context, action_id: str, value: str) -> list[Message]:
        if action_id == views.ACTION_CHOOSE_TIME:
            return await self._choose(ctx, choices.TimeChoice.decode(value))
        if action_id == views.ACTION_STANCE:
            deadline_id, _, stance = value.partition("|")
            deadline = await self._by_id(ctx, deadline_id)
            return await self._record_position(
                ctx, deadline, stance=Stance(stance), party=None, terms=None
            )
        if action_id == views.ACTION_OPEN_FORM:
            deadline = await self._by_id(ctx, value)
            return [await self._form(ctx, deadline)]
        raise InvalidInput(f"Unknown action {action_id!r}.")

    async def position_form(self, *, ctx: Context, deadline_id: str) -> Message:
        """The position form for a deadline (for a modal or card)."""
        return await self._form(ctx, await self._by_id(ctx, deadline_id))

    async def submit_form(
        self, *, ctx: Context, form_id: str, value: str, fields: Mapping[str, str]
    ) -> list[Message]:
        """A position form came back; raises ``FormError`` naming the bad fields."""
        if form_id != views.FORM_POSITION:
            raise FormError({"form": f"Unknown form {form_id!r}."})
        errors: dict[str, str] = {}
        stance_text = (fields.get("stance") or "").strip().lower()
        stance = STANCE_ALIASES.get(stance_text)
        if stance is None:
            errors["stance"] = "Pick a stance: support, oppose, conditional or undecided."
        party = (fields.get("party") or "").strip() or None
        terms = (fields.get("terms") or "").strip()
        if party is not None and len(party) > PARTY_MAX:
            errors["party"] = f"Keep the party name under {PARTY_MAX} characters."
        if len(terms) > TERMS_MAX:
            errors["terms"] = f"Terms are {len(terms)} characters; the limit is {TERMS_MAX}."
        if errors or stance is None:
            raise FormError(errors)
        try:
            deadline = await self._by_id(ctx, value)
        except ValueError:
            raise FormError({"stance": "This form is out of date; open it again."}) from None
        return await self._record_position(ctx, deadline, stance=stance, party=party, terms=terms)

    async def _choose(self, ctx: Context, choice: choices.TimeChoice) -> list[Message]:
        """Run a time choice as if its command were typed again, by its person, once."""
        if ctx.user_id != choice.user_id:
            raise InvalidInput(
                f"These choices were offered to {views.mention(choice.user_id)}; "
                "type the command yourself to set a time."
            )
        now = self.clock.now()
        if now >= choice.expires_at:
            raise InvalidInput(
                f"These choices have expired. Type it again: /{choice.command} {choice.text}"
            )
        if not self._choices.take(choice, now=now):
            raise InvalidInput("One of these choices has already been used.")
        where = replace(ctx, channel_id=choice.channel_id)
        try:
            return await self._run(where, choice.command, choice.text)
        except BaseException:
            self._choices.give_back(choice)
            raise

    # --- references ------------------------------------------------------
    async def resolve(self, ctx: Context, ref: Ref) -> Deadline:
        """Find the deadline a ``Ref`` names in the caller's workspace."""
        if ref.number is not None:
            found = await self.repository.get_deadline(
                workspace_id=ctx.workspace_id, number=ref.number
            )
            if found is None:
                raise NotFound(
                    f"There is no deadline D{ref.number} in this workspace.",
                    hint="See `/deadline list all` for the numbers.",
                )
            return found
        matches = await self.repository.find_deadlines_by_title(
            workspace_id=ctx.workspace_id, prefix=ref.prefix
        )
        open_matches = [d for d in matches if d.status is DeadlineStatus.OPEN]
        candidates = open_matches if len(open_matches) >= 1 and len(matches) > 1 else matches
        if not candidates:
            raise NotFound(
                f'No deadline title starts with "{ref.prefix}".',
                hint="Use the number shown as D<n>; see `/deadline list all`.",
            )
        if len(candidates) > 1:
            names = ", ".join(f"{d.ref} {d.title}" for d in candidates[:5])
            raise AmbiguousReference(
                f'"{ref.prefix}" matches {len(candidates)} deadlines: {names}.',
                hint="Use the number instead, e.g. `/deadline show D1`.",
            )
        return candidates[0]

    async def _by_id(self, ctx: Context, deadline_id: str) -> Deadline:
        found = await self.repository.get_deadline_by_id(
            workspace_id=ctx.workspace_id, deadline_id=int(deadline_id)
        )
        if found is None:
            raise NotFound("That deadline no longer exists in this workspace.")
        return found

    # --- deadlines -------------------------------------------------------
    async def _list(self, ctx: Context, include_closed: bool) -> list[Message]:
        deadlines = await self.repository.list_deadlines(
            workspace_id=ctx.workspace_id,
            channel_id=ctx.channel_id,
            statuses=None if include_closed else UNSETTLED,
        )
        return [
            views.deadline_list(
                deadlines, now=self.clock.now(), include_closed=include_closed, user_id=ctx.user_id
            )
        ]

    async def _show(self, ctx: Context, ref: Ref) -> list[Message]:
        deadline = await self.resolve(ctx, ref)
        workspace, deadline_id = ctx.workspace_id, deadline.id
        events = await self.repository.list_events(workspace_id=workspace, deadline_id=deadline_id)
        positions = await self.repository.list_positions(
            workspace_id=workspace, deadline_id=deadline_id
        )
        requests = await self.repository.list_position_requests(
            workspace_id=workspace, deadline_id=deadline_id
        )
        return [
            views.deadline_details(
                deadline,
                now=self.clock.now(),
                events=events,
                positions=positions,
                requests=requests,
                user_id=ctx.user_id,
            )
        ]

    async def _reschedule(
        self, ctx: Context, command: ExtendDeadline | MoveDeadline
    ) -> list[Message]:
        deadline = await self.resolve(ctx, command.ref)
        now = self.clock.now()
        change = await schedule.reschedule(
            repository=self.repository, now=now, ctx=ctx, deadline=deadline, command=command
        )
        self._on_change()
        return [change.announcement(now=now, calendar_url=await self.event_url(change.deadline))]

    async def _close(self, ctx: Context, ref: Ref, status: DeadlineStatus) -> list[Message]:
        deadline = await self.resolve(ctx, ref)
        if deadline.status in (DeadlineStatus.MET, DeadlineStatus.CANCELLED):
            raise InvalidInput(f"{deadline.ref} is already {deadline.status.value}.")
        now = self.clock.now()
        kind = EventKind.COMPLETED if status is DeadlineStatus.MET else EventKind.CANCELLED
        updated = replace(deadline, status=status, updated_at=now)
        event = Event(deadline_id=deadline.id, kind=kind, at=now, actor_id=ctx.user_id)
        told = ChangeKind.MET if status is DeadlineStatus.MET else ChangeKind.CANCELLED
        change = Change(kind=told, at=now, actor_id=ctx.user_id)
        notice = await notices.notice_of(deadline, change, store=self.repository)
        saved = await self.repository.update_deadline(
            deadline=updated, event=event, alerts=(), notice=notice
        )
        self._on_change()
        verb = "marked done (met)" if status is DeadlineStatus.MET else "cancelled"
        text = (
            f"{views.mention(ctx.user_id)} {verb} {saved.ref} {saved.title}. Its reminders are off."
        )
        return [views.info_message(text, user_id=None, audience=Audience.CHANNEL)]

    async def _set_reminders(self, ctx: Context, command: SetReminders) -> list[Message]:
        deadline = await self.resolve(ctx, command.ref)
        if deadline.status is not DeadlineStatus.OPEN:
            raise InvalidInput(
                f"{deadline.ref} is {deadline.status.value}; it has no reminders to set."
            )
        now = self.clock.now()
        labels = ", ".join(format_offset(o) for o in command.offsets)
        updated = replace(deadline, reminder_offsets=tuple(command.offsets), updated_at=now)
        event = Event(
            deadline_id=deadline.id,
            kind=EventKind.REMINDERS_CHANGED,
            at=now,
            actor_id=ctx.user_id,
            data={"offsets": labels},
        )
        alerts = plan_alerts(due_at=deadline.due_at, offsets=updated.reminder_offsets, now=now)
        saved = await self.repository.update_deadline(deadline=updated, event=event, alerts=alerts)
        self._on_change()
        skipped = [o for o in command.offsets if saved.due_at - o <= now]
        note = (
            f" (already past, skipped: {', '.join(format_offset(o) for o in skipped)})"
            if skipped
            else ""
        )
        text = f"Reminders for {saved.ref} set to {labels}, plus one at the deadline{note}."
        return [views.info_message(text, user_id=ctx.user_id)]

    async def _feed(self, ctx: Context, scope: str) -> list[Message]:
        if self.feeds is None:
            raise InvalidInput("Calendar feeds are not enabled on this Parley server.")
        url = await self.feeds.feed_url(ctx=ctx, scope=scope)
        what = {
            "channel": "this channel's deadlines",
            "mine": "the deadlines you own or owe a position on",
            "revoke": "this channel's deadlines (the previous URLs no longer work)",
            "mine-revoke": "your deadlines (your previous personal URLs no longer work)",
        }[scope]
        text = (
            f"Your private calendar feed for {what}:\n{url}\n"
            "Subscribe to it in Google Calendar, Outlook or Apple Calendar. "
            "Anyone with this URL can read the feed; `/deadline feed revoke` (or "
            "`/deadline feed mine revoke` for your personal one) replaces it."
        )
        return [replace(views.info_message(text, user_id=ctx.user_id), sensitive=True)]

    async def event_url(self, deadline: Deadline) -> str | None:
        """The single-event .ics link for ``deadline`` ("Add to calendar"), if feeds are on."""
        return await self.feeds.event_url(deadline=deadline) if self.feeds is not None else None

    # --- positions -------------------------------------------------------
    async def _record_position(
        self,
        ctx: Context,
        deadline: Deadline,
        *,
        stance: Stance,
        party: str | None,
        terms: str | None,
    ) -> list[Message]:
        if deadline.status is DeadlineStatus.CANCELLED:
            raise InvalidInput(f"{deadline.ref} is cancelled; positions on it are closed.")
        party_name = " ".join(party.split()) if party else None
        if party_name is not None and len(party_name) > PARTY_MAX:
            raise InvalidInput(
                f"The party name is {len(party_name)} characters; the limit is {PARTY_MAX}."
            )
        if terms is not None and len(terms) > TERMS_MAX:
            raise InvalidInput(
                f"The terms are {len(terms)} characters; the limit is {TERMS_MAX}.",
                hint="Shorten them, or record the details elsewhere and link them.",
            )
        workspace = ctx.workspace_id
        if party_name:
            stakeholder, label = f"party:{party_name.casefold()}", party_name
        else:
            stakeholder, label = ctx.user_id, views.mention(ctx.user_id)
        if terms is None:
            # A stance button keeps whatever terms the stakeholder gave before.
            current = await self._current_position(ctx, deadline, stakeholder)
            terms = current.terms if current else ""
        now = self.clock.now()
        position = Position(
            deadline_id=deadline.id,
            stakeholder=stakeholder,
            label=label,
            stance=stance,
            terms=terms.strip(),
            recorded_by=ctx.user_id,
            recorded_at=now,
        )
        event = Event(
            deadline_id=deadline.id,
            kind=EventKind.POSITION_RECORDED,
            at=now,
            actor_id=ctx.user_id,
            data={
                "stakeholder": stakeholder,
                "label": label,
                "stance": stance.value,
                "terms": position.terms,
            },
        )
        await self.repository.record_position(
            workspace_id=workspace, position=position, event=event
        )
        on_behalf = (
            "" if stakeholder == ctx.user_id else f" (recorded by {views.mention(ctx.user_id)})"
        )
        detail = f": {position.terms}" if position.terms else ""
        text = f"{label} {stance.value}s {deadline.ref} {deadline.title}{on_behalf}{detail}"
        if stance is Stance.CONDITIONAL:
            text = f"{label} is conditional on {deadline.ref} {deadline.title}{on_behalf}{detail}"
        elif stance is Stance.UNDECIDED:
            text = f"{label} is undecided on {deadline.ref} {deadline.title}{on_behalf}{detail}"
        # Announced where the deadline lives, also when the stance came from a DM button.
        announce = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
        return [replace(announce, channel_id=deadline.channel_id)]

    async def _current_position(
        self, ctx: Context, deadline: Deadline, stakeholder: str
    ) -> Position | None:
        positions = await self.repository.list_positions(
            workspace_id=ctx.workspace_id, deadline_id=deadline.id
        )
        return next((p for p in positions if p.stakeholder == stakeholder), None)

    async def _form(self, ctx: Context, deadline: Deadline) -> Message:
        current = await self._current_position(ctx, deadline, ctx.user_id)
        return views.position_form(deadline, user_id=ctx.user_id, current=current)

    async def _matrix(self, ctx: Context, deadline: Deadline) -> Message:
        workspace = ctx.workspace_id
        positions = await self.repository.list_positions(
            workspace_id=workspace, deadline_id=deadline.id
        )
        requests = await self.repository.list_position_requests(
            workspace_id=workspace, deadline_id=deadline.id
        )
        return views.position_matrix(
            deadline,
            now=self.clock.now(),
            positions=positions,
            requests=requests,
            user_id=ctx.user_id,
        )

    async def _ask(self, ctx: Context, command: AskPositions) -> list[Message]:
        deadline = await self.resolve(ctx, command.ref)
        if deadline.status is not DeadlineStatus.OPEN:
            raise InvalidInput(
                f"{deadline.ref} is {deadline.status.value}; there is nothing to ask."
            )
        user_ids = list(dict.fromkeys(command.user_ids))
        if not user_ids:
            raise InvalidInput(
                "Name at least one person to ask.", hint="Usage: `/position ask D1 @alice @bob`"
            )
        if len(user_ids) > ASK_MAX:
            raise InvalidInput(f"Ask at most {ASK_MAX} people at once (you named {len(user_ids)}).")
        now = self.clock.now()
        requests = [
            PositionRequest(deadline_id=deadline.id, user_id=u, asked_by=ctx.user_id, asked_at=now)
            for u in user_ids
        ]
        event = Event(
            deadline_id=deadline.id,
            kind=EventKind.POSITIONS_ASKED,
            at=now,
            actor_id=ctx.user_id,
            data={"user_ids": user_ids},
        )
        await self.repository.add_position_requests(
            workspace_id=ctx.workspace_id, requests=requests, event=event
        )
        asked = ", ".join(views.mention(u) for u in user_ids)
        announce = views.info_message(
            f"{views.mention(ctx.user_id)} asked {asked} for their positions on {deadline.ref} "
            f"{deadline.title}. `/position list {deadline.ref}` shows who has answered.",
            user_id=None,
            audience=Audience.CHANNEL,
        )
        directs = [
            views.ask_direct_message(deadline, user_id=u, asked_by=ctx.user_id, now=now)
            for u in user_ids
        ]
        return [announce, *directs]
