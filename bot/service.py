"""Parley's use cases: what each command does, independent of the chat platform.

``Parley.handle`` takes the text of a ``/deadline`` or ``/position`` command
and returns the messages to deliver (``bot.messages.Message``); adapters
deliver them. A user's mistake never escapes as an exception: it becomes an
ephemeral message saying what was understood and how to fix it, and nothing
is written. A vague time ("Friday evening") writes nothing either: the reply
offers choices (``bot.usecases.choices``). Button presses and form
submissions have their own entry points.

Which deadline a reference or a button reaches, and who may change it, is
``bot.usecases.access`` (a deadline belongs to its channel; owners change it).
Setting due times lives in ``bot.usecases.schedule``, the other owner-only
changes in ``bot.usecases.changes``, positions in ``bot.usecases.positions``.
Whatever a change announces goes to the deadline's own channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from bot import once, views
from bot.domain import Context, Deadline, DeadlineStatus, Stance
from bot.errors import FormError, InvalidInput, StorageUnavailable, UserError, VagueTime, chat_text
from bot.grammar import (
    AddDeadline,
    AskPositions,
    BriefRequest,
    CancelDeadline,
    Command,
    CompleteDeadline,
    DeadlineCommand,
    ExtendDeadline,
    FeedRequest,
    Help,
    ListDeadlines,
    ListPositions,
    MoveDeadline,
    OpenPositionForm,
    RecordPosition,
    SealDeadline,
    SetOwners,
    SetReminders,
    SetSilence,
    ShowDeadline,
    VerifyPositions,
)
from bot.grammar_escalation import NudgeSilent, SetEscalation
from bot.grammar_negotiation import (
    ChangeParty,
    ExpectParties,
    ListOffers,
    ListParties,
    OfferHelp,
    PartyHelp,
    RecordOffer,
)
from bot.help import HELP_DEADLINE, HELP_OFFER, HELP_PARTY, HELP_POSITION
from bot.messages import Actions, Message
from bot.observe import (
    CommandObserver,
    CommandObservers,
    command_name,
    observing,
    observing_press,
    parse_observed,
)
from bot.ports import ChatGateway, Clock, NegotiationStore, ReplayStore
from bot.usecases import (
    access,
    changes,
    choices,
    escalation,
    home,
    links,
    offers,
    parties,
    positions,
    schedule,
)
from bot.views import escalation as escalation_views
from bot.words import Ref

# `/deadline list` shows what still needs attention: open deadlines, and missed
# ones until someone marks them done or cancels them.
UNSETTLED = frozenset({DeadlineStatus.OPEN, DeadlineStatus.MISSED})
HOME = "home"  # typed alone (Teams): the person's home


class FeedLinks(Protocol):
    """Issues private calendar feed URLs (implemented with the feed store)."""

    async def feed_url(self, *, ctx: Context, scope: str) -> str: ...

    async def event_url(self, *, deadline: Deadline) -> str | None: ...

    async def brief_url(self, *, ctx: Context, deadline: Deadline | None, revoke: bool) -> str: ...


class Parley:
    """The use cases, wired to a repository and a clock."""

    def __init__(
        self,
        *,
        repository: NegotiationStore,
        clock: Clock,
        keys: ReplayStore,
        feeds: FeedLinks | None = None,
        on_change: Callable[[], None] | None = None,
        observer: CommandObserver | None = None,
        gateways: Mapping[str, ChatGateway] | None = None,
    ) -> None:
        self.repository = repository
        # By platform, filled as adapters mount: a linked set's posts go to each member.
        self.gateways: Mapping[str, ChatGateway] = {} if gateways is None else gateways
        self.clock = clock
        self.feeds = feeds
        self._on_change = on_change or (lambda: None)
        self.keys = keys
        self._button_secret: bytes | None = None
        self.observer = observer or CommandObservers()

    # --- entry points ----------------------------------------------------
    async def handle(self, *, ctx: Context, command: str, text: str) -> list[Message]:
        """Run one slash command (``command`` is ``deadline`` or ``position``) once for
        the request that carries it (``bot.once``), or ``home`` alone (typed in Teams: the
        person's home, ``bot.usecases.home``)."""
        try:
            if command == HOME and not text.strip():
                return await self._home(ctx)
            return await once.run_once(lambda: self._run(ctx, command, text), claim=self._claim)
        except (UserError, StorageUnavailable) as error:
            return _refusal(ctx, error)

    async def _home(self, ctx: Context) -> list[Message]:
        """What the person owns and what is asked of them, across the workspace's
        conversations; typed in a channel it is sent to them alone (``sensitive``)."""
        access.check_ids(ctx)
        found = await home.person_home(
            self.repository, workspace_id=ctx.workspace_id, user_id=ctx.user_id
        )
        message = home.home_message(found, now=self.clock.now(), user_id=ctx.user_id)
        return [message if ctx.direct else replace(message, sensitive=True)]

    async def _run(self, ctx: Context, command: str, text: str) -> list[Message]:
        """Parse and execute, in the linked set's home channel (``bot.usecases.links``);
        a vague time becomes its choices."""
        access.check_ids(ctx)
        if command == links.COMMAND:
            with observing(self.observer, ctx=ctx, name=links.command_name(text)):
                return await links.run(
                    self.repository, self.gateways, now=self.clock.now(), ctx=ctx, text=text
                )
        parsed = parse_observed(self.observer, ctx=ctx, command=command, text=text)
        here, (ctx, linked) = ctx, await links.linked_home(self.repository, ctx)
        try:
            replies = await self.execute(ctx=ctx, command=parsed)
            return await self._spread(here, ctx, replies) if linked else replies
        except VagueTime as vague:
            if not isinstance(parsed, AddDeadline | ExtendDeadline | MoveDeadline):
                raise
            if not isinstance(parsed, AddDeadline) and parsed.ref.number is None:
                # The choices name the deadline by number: a title prefix may stop matching.
                deadline = await self.resolve(ctx, parsed.ref)
                parsed = replace(parsed, ref=Ref(number=deadline.number, prefix=""))
            now = self.clock.now()
            secret = await self._secret()
            return [choices.offer(vague, ctx=here, command=parsed, now=now, secret=secret)]

    async def _spread(self, here: Context, home: Context, replies: list[Message]) -> list[Message]:
        """The replies where the command came from; what they post to a linked set's
        home channel goes to each other member too (``links.spread``)."""
        return await links.spread(
            self.repository, self.gateways, here=here, home=home, messages=replies
        )

    async def _claim(self, key: once.Key) -> bool:
        """Claim ``key`` for a command that wrote nothing (``bot.once``)."""
        return await self.keys.claim_replay_key(
            key=key.digest, now=key.now, expires_at=key.expires_at
        )

    async def _secret(self) -> bytes:
        """The deployment's key for signing buttons, made once for every replica."""
        if self._button_secret is None:
            found = await self.keys.deployment_secret(
                name=choices.SECRET_NAME, create=choices.new_secret(), now=self.clock.now()
            )
            self._button_secret = bytes.fromhex(found)
        return self._button_secret

    async def execute(self, *, ctx: Context, command: Command) -> list[Message]:
        """Run a parsed command; raises ``UserError`` for a mistake in it."""
        with observing(self.observer, ctx=ctx, name=command_name(command)):
            return await self._execute(ctx, command)

    async def _execute(self, ctx: Context, command: Command) -> list[Message]:
        if not isinstance(
            command,
            Help
            | AddDeadline
            | ListDeadlines
            | FeedRequest
            | BriefRequest
            | ChangeParty
            | ListParties
            | PartyHelp
            | OfferHelp,
        ):
            deadline = await self.resolve(ctx, command.ref)
            return await self._on_deadline(ctx, deadline, command)
        match command:
            case PartyHelp():
                return [views.info_message(HELP_PARTY, user_id=ctx.user_id)]
            case OfferHelp():
                return [views.info_message(HELP_OFFER, user_id=ctx.user_id)]
            case ChangeParty():
                return await parties.change(
                    store=self.repository, now=self.clock.now(), ctx=ctx, command=command
                )
            case ListParties():
                return [await parties.listing(store=self.repository, ctx=ctx)]
            case Help(topic=topic):
                text = HELP_DEADLINE if topic == "deadline" else HELP_POSITION
                return [views.info_message(text, user_id=ctx.user_id)]
            case AddDeadline():
                added = await schedule.add_deadline(
                    repository=self.repository,
                    now=self.clock.now(),
                    ctx=ctx,
                    command=command,
                    event_url=self.event_url,
                )
                return self._changed(added)
            case ListDeadlines(include_closed=include_closed):
                return await self._list(ctx, include_closed)
            case FeedRequest(scope=scope):
                return await self._feed(ctx, scope)
            case BriefRequest(ref=ref, revoke=revoke):
                one = None if ref is None else await self.resolve(ctx, ref)
                return await self._brief(ctx, one, revoke=revoke)

    async def _on_deadline(
        self, ctx: Context, deadline: Deadline, command: DeadlineCommand
    ) -> list[Message]:
        now = self.clock.now()
        store = self.repository
        match command:
            case ShowDeadline():
                return await self._show(ctx, deadline)
            case ExtendDeadline() | MoveDeadline():
                return await self._reschedule(ctx, deadline, command)
            case CompleteDeadline() | CancelDeadline():
                met = isinstance(command, CompleteDeadline)
                status = DeadlineStatus.MET if met else DeadlineStatus.CANCELLED
                reason = command.reason if isinstance(command, CompleteDeadline) else ""
                closed = await changes.close(
                    store=store, now=now, ctx=ctx, deadline=deadline, status=status, reason=reason
                )
                return self._changed(closed)
            case SealDeadline():
                return await changes.seal(store=store, now=now, ctx=ctx, deadline=deadline)
            case SetSilence():
                return await changes.set_silence(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
            case VerifyPositions():
                return [await positions.verify(store, ctx, deadline)]
            case SetReminders():
                reminded = await changes.set_reminders(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
                return self._changed(reminded)
            case SetOwners():
                return await changes.change_owners(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
            case RecordPosition(stance=stance, party=party, terms=terms):
                return await positions.record(
                    store=store,
                    now=now,
                    ctx=ctx,
                    deadline=deadline,
                    stance=stance,
                    party=party,
                    terms=terms,
                    typed=True,
                )
            case OpenPositionForm():
                return [await positions.form(store, ctx, deadline)]
            case ListPositions():
                return [await positions.matrix(store, now, ctx, deadline)]
            case AskPositions():
                return await positions.ask(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
            case ExpectParties():
                return await parties.expect(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
            case SetEscalation():
                escalated = await escalation.escalate(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
                return self._changed(escalated)
            case NudgeSilent():
                return await escalation.nudge(store=store, now=now, ctx=ctx, deadline=deadline)
            case RecordOffer():
                return await offers.record(
                    store=store, now=now, ctx=ctx, deadline=deadline, command=command
                )
            case ListOffers():
                return [await offers.listing(store=store, ctx=ctx, deadline=deadline)]

    def _changed(self, messages: list[Message]) -> list[Message]:
        """A deadline's alerts changed: wake the dispatcher."""
        self._on_change()
        return messages

    async def press(self, *, ctx: Context, action_id: str, value: str) -> list[Message]:
        """A button of ``views.CORE_ACTIONS`` (a stance, the form, a time choice) was
        pressed; its command runs once for the request, and a time choice once for its
        prompt (``bot.once``)."""
        try:
            with observing_press(self.observer, ctx=ctx, action_id=action_id):
                if action_id == views.ACTION_CHOOSE_TIME:
                    return await self._choose(ctx, value)
                return await once.run_once(
                    lambda: self._press(ctx, action_id, value), claim=self._claim
                )
        except ValueError:
            return [views.error_message("That button is out of date.", user_id=ctx.user_id)]
        except (UserError, StorageUnavailable) as error:
            return _refusal(ctx, error)

    async def _press(self, ctx: Context, action_id: str, value: str) -> list[Message]:
        access.check_ids(ctx)
        here, (ctx, linked) = ctx, await links.linked_home(self.repository, ctx)
        replies = await self._pressed(ctx, action_id, value)
        return await self._spread(here, ctx, replies) if linked else replies

    async def _pressed(self, ctx: Context, action_id: str, value: str) -> list[Message]:
        if action_id == views.ACTION_STANCE:
            deadline_id, _, stance = value.partition("|")
            deadline = await access.by_id(self.repository, ctx, deadline_id)
            return await positions.record(
                store=self.repository,
                now=self.clock.now(),
                ctx=ctx,
                deadline=deadline,
                stance=Stance(stance),
                party=None,
                terms=None,
            )
        if action_id == views.ACTION_BRIEF:
            return await self._brief(ctx, await access.by_id(self.repository, ctx, value))
        if action_id == views.ACTION_OPEN_FORM:
            deadline = await access.by_id(self.repository, ctx, value)
            return [await positions.form(self.repository, ctx, deadline)]
        raise InvalidInput(f"Unknown action {action_id!r}.")

    async def position_form(self, *, ctx: Context, deadline_id: str) -> Message:
        """The position form for a deadline (for a modal or card)."""
        access.check_ids(ctx)
        ctx = await links.home_context(self.repository, ctx)
        deadline = await access.by_id(self.repository, ctx, deadline_id)
        return await positions.form(self.repository, ctx, deadline)

    async def submit_form(
        self, *, ctx: Context, form_id: str, value: str, fields: Mapping[str, str]
    ) -> list[Message]:
        """A position form came back; raises ``FormError`` naming the bad fields."""
        if form_id != views.FORM_POSITION:
            raise FormError({"form": f"Unknown form {form_id!r}."})
        access.check_ids(ctx)
        stance, party, terms = positions.read_form(fields)
        try:
            return await once.run_once(
                lambda: self._submit(ctx, value, stance, party, terms), claim=self._claim
            )
        except once.AlreadyHandled as error:
            if error.key.refusal:
                raise
            return []  # a copy of the request that another replica ran

    async def _submit(
        self, ctx: Context, value: str, stance: Stance, party: str | None, terms: str
    ) -> list[Message]:
        here, (ctx, linked) = ctx, await links.linked_home(self.repository, ctx)
        try:
            deadline = await access.by_id(self.repository, ctx, value)
        except ValueError:
            raise FormError({"stance": "This form is out of date; open it again."}) from None
        recorded = await positions.record(
            store=self.repository,
            now=self.clock.now(),
            ctx=ctx,
            deadline=deadline,
            stance=stance,
            party=party,
            terms=terms,
        )
        return await self._spread(here, ctx, recorded) if linked else recorded

    async def _choose(self, ctx: Context, value: str) -> list[Message]:
        """Run a time choice as if its command were typed again, by its person, in the
        conversation where it was typed, once (``bot.usecases.choices``)."""
        access.check_ids(ctx)
        choice = choices.TimeChoice.decode(value, await self._secret())
        if ctx.workspace_id != choice.workspace_id:
            raise ValueError("a time choice pressed in another workspace")
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
        # Where it was typed: Teams offers the choices in the person's 1:1 chat.
        where = replace(ctx, channel_id=choice.channel_id, direct=choice.direct)
        return await once.run_once(
            lambda: self._run(where, choice.command, choice.text),
            claim=self._claim,
            extra=(choice.key(now),),
        )

    # --- references ------------------------------------------------------
    async def resolve(self, ctx: Context, ref: Ref) -> Deadline:
        """The deadline a ``Ref`` names where ``ctx`` is (``bot.usecases.access``)."""
        return await access.resolve(self.repository, ctx, ref)

    # --- deadlines -------------------------------------------------------
    async def _list(self, ctx: Context, include_closed: bool) -> list[Message]:
        statuses = None if include_closed else UNSETTLED
        deadlines = await self.repository.list_deadlines(
            workspace_id=ctx.workspace_id, channel_id=ctx.channel_id, statuses=statuses
        )
        if ctx.direct and not include_closed:
            # In a direct conversation: the person's home, this conversation's own
            # deadlines among those shown as theirs.
            found = await home.person_home(
                self.repository,
                workspace_id=ctx.workspace_id,
                user_id=ctx.user_id,
                statuses=UNSETTLED,
            )
            known = {d.id for d in found.owned}
            owned = sorted(
                [*found.owned, *(d for d in deadlines if d.id not in known)],
                key=lambda d: (d.due_at, d.number),
            )
            found = replace(found, owned=tuple(owned))
            return [home.home_message(found, now=self.clock.now(), user_id=ctx.user_id)]
        if ctx.direct:
            theirs = await self.repository.find_deadlines_of_person(
                workspace_id=ctx.workspace_id, user_id=ctx.user_id, statuses=statuses
            )
            known = {d.id for d in deadlines}
            deadlines += [d for d in theirs if d.id not in known]
            deadlines.sort(key=lambda d: (d.due_at, d.number))
        return [
            views.deadline_list(
                deadlines,
                now=self.clock.now(),
                include_closed=include_closed,
                user_id=ctx.user_id,
                channels=ctx.direct,
            )
        ]

    async def _show(self, ctx: Context, deadline: Deadline) -> list[Message]:
        workspace, deadline_id = ctx.workspace_id, deadline.id
        events = await self.repository.list_events(workspace_id=workspace, deadline_id=deadline_id)
        positions = await self.repository.list_positions(
            workspace_id=workspace, deadline_id=deadline_id
        )
        requests = await self.repository.list_position_requests(
            workspace_id=workspace, deadline_id=deadline_id
        )
        details = views.deadline_details(
            deadline,
            now=self.clock.now(),
            events=events,
            positions=positions,
            requests=requests,
            user_id=ctx.user_id,
            silence=await parties.silence(self.repository, workspace, deadline),
            escalation=(
                escalation_views.ladder_words(ladder)
                if (ladder := await escalation.ladder_of(self.repository, deadline))
                else None
            ),
        )
        if self.feeds is None:
            return [details]
        return [
            replace(details, blocks=(*details.blocks, Actions((views.brief_button(deadline),))))
        ]

    async def _reschedule(
        self, ctx: Context, deadline: Deadline, command: ExtendDeadline | MoveDeadline
    ) -> list[Message]:
        verb = "extend" if isinstance(command, ExtendDeadline) else "move"
        access.require_owner(ctx, deadline, f"{verb} {deadline.ref}")
        now = self.clock.now()
        change = await schedule.reschedule(
            repository=self.repository, now=now, ctx=ctx, deadline=deadline, command=command
        )
        self._on_change()
        return [change.announcement(now=now, calendar_url=await self.event_url(change.deadline))]

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

    async def _brief(
        self, ctx: Context, deadline: Deadline | None, *, revoke: bool = False
    ) -> list[Message]:
        if self.feeds is None:
            raise InvalidInput("Brief pages are not enabled on this Parley server.")
        url = await self.feeds.brief_url(ctx=ctx, deadline=deadline, revoke=revoke)
        what = "this channel's negotiation" if deadline is None else deadline.ref
        revoked = " The brief links given before in this channel no longer work." if revoke else ""
        text = (
            f"Your private brief page for {what}:\n{url}\n"
            "Open it in a browser, print it or forward it to whoever needs the briefing: "
            "anyone with this URL can read it, until `/deadline brief revoke`." + revoked
        )
        return [replace(views.info_message(text, user_id=ctx.user_id), sensitive=True)]

    async def event_url(self, deadline: Deadline) -> str | None:
        """The single-event .ics link for ``deadline`` ("Add to calendar"), if feeds are on."""
        return await self.feeds.event_url(deadline=deadline) if self.feeds is not None else None


def _refusal(ctx: Context, error: UserError | StorageUnavailable) -> list[Message]:
    """What the person is told; a request already handled elsewhere is answered with
    nothing, as a replay caught in memory is (``adapters.replay``)."""
    if isinstance(error, once.AlreadyHandled) and not error.key.refusal:
        return []
    return [views.error_message(chat_text(error), user_id=ctx.user_id)]
