namespace Watchkeeper.Metrics.PromQL;

/// <summary>
/// At most N holders at once; the others wait in arrival order. Cancelling a waiter's token takes it out of the queue.
/// </summary>
internal sealed class QueryGate(int max)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private int _holders;

    public int Max { get; } = max;

    public Task EnterAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (_holders < Max)
            {
                _holders++;
                return Task.CompletedTask;
            }
            node = _waiters.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        return Wait(node, ct);
    }

    private async Task Wait(LinkedListNode<TaskCompletionSource> node, CancellationToken ct)
    {
        await using (ct.Register(() =>
        {
            lock (_lock)
            {
                // Still queued: leave the queue. Otherwise Exit already handed this waiter its slot.
                if (node.List is null) return;
                _waiters.Remove(node);
            }
            node.Value.TrySetCanceled(ct);
        }).ConfigureAwait(false))
        {
            await node.Value.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Waits synchronously (for callers that cannot await); prefer <see cref="EnterAsync"/>.</summary>
    public void Enter(CancellationToken ct) => EnterAsync(ct).GetAwaiter().GetResult();

    public void Exit()
    {
        TaskCompletionSource? next = null;
        lock (_lock)
        {
            if (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                next = first.Value; // the slot passes to the next waiter; _holders stays the same
            }
            else _holders--;
        }
        next?.TrySetResult();
    }
}
