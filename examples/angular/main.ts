/** Bootstraps the example chat (zoneless change detection, Angular's default since v21). */
import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app.config';
import { ChatComponent } from './chat.component';

bootstrapApplication(ChatComponent, appConfig).catch((error: unknown) => console.error(error));
