using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuralService.Api.Tests.Ui;

/// <summary>Headless Debian Chromium driven over the DevTools protocol (one WebSocket, one page attached in flat mode):
/// navigate, evaluate JavaScript, set the viewport, take screenshots, and collect the page's uncaught errors.</summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly StringBuilder _stderr = new();
    private Task _reader = Task.CompletedTask;
    private string _session = "";
    private int _nextId;

    /// <summary>Uncaught exceptions and console.error lines of the page, in order.</summary>
    public ConcurrentQueue<string> PageErrors { get; } = new();

    public static bool Available => File.Exists(Executable);

    private Chromium(Process process, string profile) => (_process, _profile) = (process, profile);

    public static async Task<Chromium> StartAsync(int width = 1280, int height = 800)
    {
        var profile = Directory.CreateTempSubdirectory("chromium-").FullName;
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--headless=new", "--remote-debugging-port=0", $"--user-data-dir={profile}", "--no-sandbox",
                     "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                     "--hide-scrollbars", $"--window-size={width},{height}", "about:blank" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        var browser = new Chromium(process, profile);
        process.ErrorDataReceived += (_, e) => { lock (browser._stderr) browser._stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            await browser.ConnectAsync(width, height);
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
        return browser;
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    private async Task ConnectAsync(int width, int height)
    {
        // Chromium writes the port it chose and the browser target's path to DevToolsActivePort in the profile.
        var portFile = Path.Combine(_profile, "DevToolsActivePort");
        var deadline = Stopwatch.StartNew();
        string[] lines = [];
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (_process.HasExited) throw new InvalidOperationException($"chromium exited ({_process.ExitCode}): {Stderr}");
            if (File.Exists(portFile) && (lines = (await File.ReadAllLinesAsync(portFile))).Length >= 2) break;
            await Task.Delay(50);
        }
        if (lines.Length < 2) throw new TimeoutException($"chromium wrote no DevToolsActivePort: {Stderr}");
        await _socket.ConnectAsync(new Uri($"ws://127.0.0.1:{lines[0].Trim()}{lines[1].Trim()}"), CancellationToken.None);
        _reader = Task.Run(ReadLoopAsync);

        var target = await SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, browserLevel: true);
        var attached = await SendAsync("Target.attachToTarget",
            new JsonObject { ["targetId"] = target.GetProperty("targetId").GetString(), ["flatten"] = true }, browserLevel: true);
        _session = attached.GetProperty("sessionId").GetString()!;
        await SendAsync("Page.enable");
        await SendAsync("Runtime.enable");
        await SetViewportAsync(width, height);
    }

    public Task SetViewportAsync(int width, int height) => SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject
    {
        ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = width < 600,
    });

    /// <summary>Reloads the page and returns once the new document has loaded (the old one is marked, so a poll cannot
    /// be answered by it).</summary>
    public async Task ReloadAsync(TimeSpan timeout)
    {
        await EvaluateAsync("window.__beforeReload = true");
        await SendAsync("Page.reload");
        await WaitForAsync("!window.__beforeReload && document.readyState === 'complete'", timeout);
    }

    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>The value of a JavaScript expression (awaited when a promise), as JSON.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var r = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true,
        });
        if (r.TryGetProperty("exceptionDetails", out var ex)) throw new InvalidOperationException($"{expression}: {ex}");
        return r.GetProperty("result").TryGetProperty("value", out var v) ? v.Clone() : default;
    }

    /// <summary>Polls until the expression is truthy; fails with the page's errors when it never gets there.</summary>
    public async Task WaitForAsync(string expression, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // A reload or navigation in progress destroys the context an evaluation runs in: not there yet, poll again.
            try
            {
                if ((await EvaluateAsync($"!!({expression})")).ValueKind == JsonValueKind.True) return;
            }
            catch (InvalidOperationException e) when (IsNavigating(e)) { }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout.TotalSeconds} s for {expression}; page errors: {string.Join(" | ", PageErrors)}; " +
                                           $"page text: {await EvaluateAsync("document.body.innerText")}");
            await Task.Delay(50);
        }
    }

    private static bool IsNavigating(InvalidOperationException e) =>
        e.Message.Contains("navigated or closed", StringComparison.Ordinal) ||
        e.Message.Contains("Execution context was destroyed", StringComparison.Ordinal) ||
        e.Message.Contains("Cannot find context", StringComparison.Ordinal);

    public async Task<byte[]> ScreenshotAsync()
    {
        var r = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(r.GetProperty("data").GetString()!);
    }

    /// <summary>Puts files into an &lt;input type="file"&gt; (DOM.setFileInputFiles), as a user's choice would; the input
    /// fires its change event.</summary>
    public async Task SetFileInputFilesAsync(string selector, params string[] paths)
    {
        var found = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = $"document.querySelector({JsonSerializer.Serialize(selector)})" });
        var objectId = found.GetProperty("result").TryGetProperty("objectId", out var id) ? id.GetString()
            : throw new InvalidOperationException($"no element matches {selector}");
        await SendAsync("DOM.setFileInputFiles", new JsonObject { ["objectId"] = objectId, ["files"] = new JsonArray(paths.Select(p => (JsonNode?)p).ToArray()) });
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null, bool browserLevel = false)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (!browserLevel) message["sessionId"] = _session;
        var done = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
        return await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                Dispatch(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        foreach (var p in _pending.Values) p.TrySetException(new InvalidOperationException($"DevTools connection closed: {Stderr}"));
    }

    private void Dispatch(JsonElement m)
    {
        if (m.TryGetProperty("id", out var idElement) && _pending.TryRemove(idElement.GetInt32(), out var waiter))
        {
            if (m.TryGetProperty("error", out var error)) waiter.TrySetException(new InvalidOperationException($"DevTools: {error}"));
            else waiter.TrySetResult(m.GetProperty("result"));
            return;
        }
        var method = m.TryGetProperty("method", out var me) ? me.GetString() : null;
        if (method == "Runtime.exceptionThrown")
            PageErrors.Enqueue(m.GetProperty("params").GetProperty("exceptionDetails").ToString());
        else if (method == "Runtime.consoleAPICalled" && m.GetProperty("params").GetProperty("type").GetString() == "error")
            PageErrors.Enqueue(m.GetProperty("params").GetProperty("args").ToString());
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { _socket.Abort(); } catch (ObjectDisposedException) { }
        try { await _reader; } catch (Exception) { /* closing */ }
        _socket.Dispose();
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
