using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;

namespace Watchkeeper.Alerting.Tests;

public sealed class SilenceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));

    private Silence New(string matchers, TimeSpan start, TimeSpan end, string id = "") =>
        new(id, new Matchers(MatcherParser.ParseList(matchers)), _time.GetUtcNow() + start, _time.GetUtcNow() + end, default, "ops", "why");

    [Fact]
    public async Task Updating_the_end_of_an_active_silence_keeps_its_id_but_changing_matchers_replaces_it()
    {
        var store = new MemorySilenceStore();
        using var book = new SilenceBook(store, _time);
        var id = await book.SetAsync(New("a=b", TimeSpan.Zero, TimeSpan.FromHours(1)), default);
        var s = book.Get(id)!;
        Assert.Equal(id, await book.SetAsync(s with { EndsAt = s.EndsAt.AddHours(1) }, default));
        var replaced = await book.SetAsync(s with { Matchers = new Matchers(MatcherParser.ParseList("a=c")) }, default);
        Assert.NotEqual(id, replaced);
        Assert.Equal(SilenceState.Expired, book.Get(id)!.State(_time.GetUtcNow()));
        Assert.Equal(SilenceState.Active, book.Get(replaced)!.State(_time.GetUtcNow()));
        // Moving the start of an active silence also replaces it.
        var moved = await book.SetAsync(book.Get(replaced)! with { StartsAt = _time.GetUtcNow().AddMinutes(5) }, default);
        Assert.NotEqual(replaced, moved);
        Assert.Equal(SilenceState.Pending, book.Get(moved)!.State(_time.GetUtcNow()));
        Assert.Equal(3, store.Rows.Count);
    }

    [Fact]
    public async Task Pending_silence_can_move_in_place_and_expiring_it_ends_it_now()
    {
        using var book = new SilenceBook(new MemorySilenceStore(), _time);
        var id = await book.SetAsync(New("a=b", TimeSpan.FromHours(1), TimeSpan.FromHours(2)), default);
        Assert.Equal(id, await book.SetAsync(book.Get(id)! with { StartsAt = _time.GetUtcNow().AddHours(1.5) }, default));
        Assert.Empty(book.Mutes(new Dictionary<string, string> { ["a"] = "b" }));
        await book.ExpireAsync(id, default);
        Assert.Equal(SilenceState.Expired, book.Get(id)!.State(_time.GetUtcNow()));
        var again = await Assert.ThrowsAsync<SilenceException>(() => book.ExpireAsync(id, default));
        Assert.Contains("already expired", again.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a=~\".*\"", "must not match the empty string")]
    [InlineData("a=b", "comment is required")]
    public async Task Invalid_silences_are_rejected(string matchers, string reason)
    {
        using var book = new SilenceBook(new MemorySilenceStore(), _time);
        var s = New(matchers, TimeSpan.Zero, TimeSpan.FromHours(1));
        if (reason.StartsWith("comment", StringComparison.Ordinal)) s = s with { Comment = "" };
        var ex = await Assert.ThrowsAsync<SilenceException>(() => book.SetAsync(s, default));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_number_of_silences_is_limited()
    {
        using var book = new SilenceBook(new MemorySilenceStore(), _time, new SilenceLimits { MaxSilences = 2 });
        await book.SetAsync(New("a=1", TimeSpan.Zero, TimeSpan.FromHours(1)), default);
        await book.SetAsync(New("a=2", TimeSpan.Zero, TimeSpan.FromHours(1)), default);
        var ex = await Assert.ThrowsAsync<SilenceException>(() => book.SetAsync(New("a=3", TimeSpan.Zero, TimeSpan.FromHours(1)), default));
        Assert.Contains("maximum number of silences", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_id_is_not_found()
    {
        using var book = new SilenceBook(new MemorySilenceStore(), _time);
        var ex = await Assert.ThrowsAsync<SilenceException>(() => book.SetAsync(New("a=b", TimeSpan.Zero, TimeSpan.FromHours(1), "nope"), default));
        Assert.True(ex.NotFound);
    }
}

public sealed class AlertStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Batch_keeps_valid_alerts_and_names_each_invalid_one_by_index()
    {
        var store = new AlertStore(_time, new AlertLimits { MaxLabels = 2 });
        var (stored, errors) = store.Put([
            new(new Dictionary<string, string> { ["alertname"] = "A" }, new Dictionary<string, string>(), null, null, ""),
            new(new Dictionary<string, string>(), new Dictionary<string, string>(), null, null, ""),
            new(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "3" }, new Dictionary<string, string>(), null, null, ""),
            new(new Dictionary<string, string> { ["alertname"] = "B" }, new Dictionary<string, string>(), _time.GetUtcNow(), _time.GetUtcNow().AddHours(-1), ""),
        ], TimeSpan.FromMinutes(5));
        Assert.Single(stored);
        Assert.Equal([1, 2, 3], errors.Select(e => e.Index));
        Assert.Contains("at least one label pair", errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("too many labels", errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("start time must be before end time", errors[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Alert_without_end_gets_resolve_timeout_and_is_collected_once_resolved()
    {
        var store = new AlertStore(_time);
        var (stored, _) = store.Put([new(new Dictionary<string, string> { ["alertname"] = "A" }, new Dictionary<string, string>(), null, null, "")], TimeSpan.FromMinutes(5));
        Assert.True(stored[0].Timeout);
        Assert.Equal(_time.GetUtcNow().AddMinutes(5), stored[0].EndsAt);
        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Empty(store.Gc());
        // A resend keeps the first start time and extends the end.
        var (again, _) = store.Put([new(new Dictionary<string, string> { ["alertname"] = "A" }, new Dictionary<string, string>(), null, null, "")], TimeSpan.FromMinutes(5));
        Assert.Equal(stored[0].StartsAt, again[0].StartsAt);
        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.Single(store.Gc());
        Assert.Equal(0, store.Count);
    }
}
