// The Kotlin bindings (client/ffi/bindings/kotlin) on the JVM against a real collector.
//
// scripts/kotlin-smoke.sh compiles this file with the bindings into target/kotlin/smoke.jar;
// tests/python/test_kotlin.py starts the collector, creates the campaign, runs
//
//     java -Djna.library.path=<dir of libldp_telemetry.so> -cp smoke.jar:jna.jar SmokeKt \
//         <collector url> <campaign id> <scratch dir>
//
// and checks that the collector counted every report. Exits non-zero on the first surprise.

import java.io.IOException
import java.net.HttpURLConnection
import java.net.URI
import io.github.ldptelemetry.Client
import io.github.ldptelemetry.ClientOptions
import io.github.ldptelemetry.HostRequest
import io.github.ldptelemetry.HostResponse
import io.github.ldptelemetry.HostTransport
import io.github.ldptelemetry.LdpException
import io.github.ldptelemetry.TransportException

/** Reports recorded through the built-in transport, then through the host's. */
const val DIRECT_REPORTS = 30
const val HOSTED_REPORTS = 10

/** What an Android app would write over OkHttp; here over the JDK's HttpURLConnection. */
class JdkTransport : HostTransport {
    val methods = mutableListOf<String>()

    override fun send(request: HostRequest): HostResponse {
        synchronized(methods) { methods += request.method }
        try {
            val connection = URI(request.url).toURL().openConnection() as HttpURLConnection
            connection.requestMethod = request.method
            connection.connectTimeout = 30_000
            connection.readTimeout = 30_000
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)
            if (request.body.isNotEmpty()) {
                connection.doOutput = true
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val retryAfter = connection.getHeaderField("Retry-After")?.toULongOrNull()
            return HostResponse(status = status.toUShort(), retryAfter = retryAfter, body = body)
        } catch (e: IOException) {
            // No response at all: the SDK keeps the batch and retries it later.
            throw TransportException.Failed(e.toString())
        }
    }
}

/** Runs `call`, which must throw an `E`. */
inline fun <reified E : Throwable> refused(what: String, call: () -> Unit) {
    try {
        call()
    } catch (e: Throwable) {
        check(e is E) { "$what: expected ${E::class.simpleName}, got $e" }
        return
    }
    error("$what: expected ${E::class.simpleName}, nothing was thrown")
}

/** Uploads until every outbox is empty (bounded, so a bug cannot hang the run). */
fun uploadAll(vararg clients: Client): ULong {
    var sent = 0uL
    repeat(150) {
        var waiting = 0uL
        for (client in clients) {
            val summary = client.uploadPending()
            sent += summary.reportsSent
            waiting += summary.reportsWaiting
        }
        if (waiting == 0uL) return sent
        Thread.sleep(200)
    }
    error("reports still waiting after 30 s")
}

fun main(args: Array<String>) {
    check(args.size == 3) { "usage: SmokeKt <collector url> <campaign id> <scratch dir>" }
    val (url, campaign, home) = args
    // Release each epoch's batch as soon as the epoch ends, and retry soon after a failure.
    val options = ClientOptions(releaseWindowSeconds = 0u, retryBaseSeconds = 1u)

    val direct = Client.openWithOptions("$home/direct", url, options)
    refused<LdpException.UnknownCampaign>("an unknown campaign") {
        direct.record("no-such-campaign", "x")
    }
    refused<LdpException.InvalidValue>("an index outside the domain") {
        direct.recordIndex(campaign, 1u shl 30)
    }
    for (i in 0 until DIRECT_REPORTS) direct.recordIndex(campaign, (i % 4).toUInt())
    direct.flush()
    val spent = direct.privacySpent(campaign)
    check(spent.lifetimeReports == DIRECT_REPORTS.toULong()) { "privacy spent: $spent" }
    check(spent.lifetimeEpsilon > 0.0 && spent.epochs.isNotEmpty()) { "privacy spent: $spent" }

    // The same through a transport written in Kotlin: every request crosses back to the JVM.
    val transport = JdkTransport()
    val hosted = Client.openWithTransport("$home/hosted", url, options, transport)
    for (i in 0 until HOSTED_REPORTS) hosted.record(campaign, "${i % 4}")

    val sent = uploadAll(direct, hosted)
    check(sent == (DIRECT_REPORTS + HOSTED_REPORTS).toULong()) { "$sent reports sent" }
    check("GET" in transport.methods && "POST" in transport.methods) {
        "requests: ${transport.methods}"
    }
    check(direct.counter("acknowledged_reports") == DIRECT_REPORTS.toULong()) { "acknowledged" }

    // Opting out persists; shutdown writes everything and frees the directory at once, after
    // which the client refuses every call.
    direct.setUploadEnabled(false)
    check(!direct.uploadEnabled()) { "uploads still enabled" }
    direct.shutdown()
    refused<LdpException.InvalidArgument>("a call after shutdown") { direct.flush() }
    direct.close()
    Client.open("$home/direct", url).use { again ->
        check(!again.uploadEnabled()) { "the opt-out was forgotten" }
        val reports = again.privacySpent(campaign).lifetimeReports
        check(reports == DIRECT_REPORTS.toULong()) { "the ledger holds $reports reports" }
    }
    // AutoCloseable.close: frees the native client, which writes what is queued.
    hosted.close()
    println("kotlin: $sent reports acknowledged")
}
