// Apache Iceberg's REST catalog test server, listening on one address only (127.0.0.1 unless the
// system property rest.host says otherwise).
//
// org.apache.iceberg.rest.RESTCatalogServer builds its Jetty server with `new Server(port)`, which
// listens on every interface, and has no setting to narrow it. This launcher does what its start()
// does (the backend catalog from the CATALOG_* environment, its servlet behind a gzip handler) with a
// connector bound to one host. The server's classes are package-private, so they are reached by
// reflection; a version of Iceberg that renames them fails here at start, loudly.
import jakarta.servlet.Servlet;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Map;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

public class LocalRestCatalog {
  private static final String PACKAGE = "org.apache.iceberg.rest.";

  private static Constructor<?> constructor(String className, Class<?>... parameters) throws Exception {
    Constructor<?> constructor = Class.forName(PACKAGE + className).getDeclaredConstructor(parameters);
    constructor.setAccessible(true);
    return constructor;
  }

  public static void main(String[] args) throws Exception {
    Class<?> serverClass = Class.forName(PACKAGE + "RESTCatalogServer");
    Class<?> contextClass = Class.forName(PACKAGE + "RESTCatalogServer$CatalogContext");
    Object catalogServer = constructor("RESTCatalogServer").newInstance();
    Method initialize = serverClass.getDeclaredMethod("initializeBackendCatalog");
    initialize.setAccessible(true);
    Object context = initialize.invoke(catalogServer);
    Object adapter = constructor("RESTServerCatalogAdapter", contextClass).newInstance(context);
    Servlet servlet = (Servlet) constructor(
        "RESTCatalogServlet", Class.forName(PACKAGE + "RESTCatalogAdapter")).newInstance(adapter);

    Field configuration = contextClass.getDeclaredField("configuration");
    configuration.setAccessible(true);
    @SuppressWarnings("unchecked")
    Map<String, String> properties = (Map<String, String>) configuration.get(context);
    int port = Integer.parseInt(properties.getOrDefault("rest.port", "8181"));

    ServletContextHandler handler = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    handler.addServlet(new ServletHolder(servlet), "/*");
    handler.insertHandler(new GzipHandler());
    Server http = new Server();
    ServerConnector connector = new ServerConnector(http);
    connector.setHost(System.getProperty("rest.host", "127.0.0.1"));
    connector.setPort(port);
    http.addConnector(connector);
    http.setHandler(handler);
    http.start();
    http.join();
  }
}
