// The list of Apicurio Registry's settings that can be changed while it runs, empty.
//
// The registry's configuration component injects a DynamicConfigPropertyList, which the Quarkus
// deployment module of apicurio-common-app-components-config-index builds from the application's
// @Dynamic settings. That module is not on Maven Central (see pom.xml), so this bean stands in for it:
// every setting keeps the value it starts with, which is all the test bed needs.
package dev.kafkabatchpuller.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;
import java.util.List;

@ApplicationScoped
public class NoDynamicConfigProperties {
  @Produces
  @ApplicationScoped
  DynamicConfigPropertyList dynamicConfigProperties() {
    return new DynamicConfigPropertyList(List.of());
  }
}
