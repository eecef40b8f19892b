using System.Diagnostics.CodeAnalysis;

// Scrape, remote write and demo tests drive their own cancellation; threading the test context token through
// every call adds noise without making the (short, bounded) tests more responsive.
[assembly: SuppressMessage("Usage", "xUnit1051", Justification = "Short bounded tests; see comment above.")]
